"""Form fields and parsing for ids a visitor sends: a number too large for the database (a 20-digit id) is
an invalid choice, not a database error. Every model choice of our forms, and every id read from a query
string, goes through here."""

from django import forms

ID_MAX = 2**63 - 1  # the largest id PostgreSQL's bigint (and SQLite's integer) can hold


def id_or_none(value: object) -> int | None:
    """A positive id the database can hold, or None for anything else (text, 0, negatives, 20 digits)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= ID_MAX else None


class BoundedModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and self.to_field_name is None and id_or_none(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if id_or_none(pk) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super()._check_values(value)
