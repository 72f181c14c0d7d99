"""Form fields and parsing for ids and days a visitor sends: a number too large for the database (a 20-digit
id) is an invalid choice, not a database error; a day at the calendar's edge (0001-01-01, 9999-12-31) is a
form error, not an overflow when it becomes a time in Asia/Shanghai. Every model choice of our forms, and
every id read from a query string, goes through here."""

import datetime
from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

ID_MAX = 2**63 - 1  # the largest id PostgreSQL's bigint (and SQLite's integer) can hold


def id_or_none(value: object) -> int | None:
    """A positive id the database can hold, or None for anything else (text, 0, negatives, 20 digits)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= ID_MAX else None


class BoundedModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value: object) -> Model | None:
        if value not in self.empty_values and self.to_field_name is None and id_or_none(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value: Iterable[object]) -> QuerySet[Any]:
        if self.to_field_name is None:
            for pk in value:
                if id_or_none(pk) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super()._check_values(value)


# The days a date typed into a search or a filter may name; each becomes a time in the site's time zone
# (and often a day either side of it), which must stay a real datetime.
DAY_MIN = datetime.date(2000, 1, 1)
DAY_MAX = datetime.date(2100, 12, 31)


def day_within_reach(day: datetime.date | None) -> None:
    """A form field validator: ``day`` lies between DAY_MIN and DAY_MAX (or is empty)."""
    if day is not None and not DAY_MIN <= day <= DAY_MAX:
        raise forms.ValidationError(
            _("Days from %(first)s to %(last)s only.")
            % {"first": DAY_MIN.isoformat(), "last": DAY_MAX.isoformat()},
            code="day_out_of_reach",
        )


class ExistingRowsFormSetMixin:
    """For a model formset that edits the rows it was given and adds none: the form counts a hand-made
    request claims (its management form) are capped at the rows there are, so no form stands for a row
    that does not exist (templates link each form to its row)."""

    def initial_form_count(self) -> int:
        return min(super().initial_form_count(), len(self.get_queryset()))

    def total_form_count(self) -> int:
        if self.is_bound:
            return min(super().total_form_count(), self.initial_form_count())
        return super().total_form_count()
