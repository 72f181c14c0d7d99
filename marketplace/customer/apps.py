from typing import TYPE_CHECKING

from oscar.apps.customer import apps

from marketplace.i18n import person_name

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser


def _full_name(self: "AbstractUser") -> str:
    return person_name(self.first_name, self.last_name)


class CustomerConfig(apps.CustomerConfig):
    name = "marketplace.customer"

    def ready(self) -> None:
        super().ready()
        from django.contrib.auth import get_user_model

        # Django's User writes every name given name first ("晓梅 郑"); every page, e-mail and Oscar's
        # templates ask get_full_name, so it is the one place to write Chinese names family name first.
        get_user_model().get_full_name = _full_name  # type: ignore[method-assign]
