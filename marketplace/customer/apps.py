from typing import TYPE_CHECKING

from django.apps import apps as registry
from django.utils.translation import gettext
from oscar.apps.customer import apps

from marketplace.i18n import person_name

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from oscar.apps.address.models import Country


def _full_name(self: "AbstractUser") -> str:
    return person_name(self.first_name, self.last_name)


def _country_name(self: "Country") -> str:
    # The country the market ships to is named in the reader's language (its row holds 中国, which the
    # address forms' country choice would show on English pages); any other by its printable name.
    if self.iso_3166_1_a2 == "CN":
        return gettext("China")
    return self.printable_name or self.name


class CustomerConfig(apps.CustomerConfig):
    name = "marketplace.customer"

    def ready(self) -> None:
        super().ready()
        from django.contrib.auth import get_user_model

        # Django's User writes every name given name first ("晓梅 郑"); every page, e-mail and Oscar's
        # templates ask get_full_name, so it is the one place to write Chinese names family name first.
        get_user_model().get_full_name = _full_name  # type: ignore[method-assign]
        registry.get_model("address", "Country").__str__ = _country_name  # type: ignore[assignment]
