"""Oscar's review forms, forked (through the catalogue fork: Oscar loads ``catalogue.reviews.forms`` from
it): the review form shown again after an error shows the score as a number. Oscar's template draws the
stars from the posted score with a filter that rounds it, and a posted score is text (a 500 for every
review sent back with an error, and for any hand-made score)."""

from typing import Any

from django import forms
from django.db import models
from oscar.apps.catalogue.reviews import forms as oscar_forms
from oscar.apps.catalogue.reviews.forms import *  # noqa: F403  (Oscar's other review forms, unchanged)


class StarScoreField(forms.TypedChoiceField):
    def bound_data(self, data: object, initial: object) -> int | None:
        try:
            return int(data)  # type: ignore[call-overload]  # whatever was posted: TypeError is caught
        except (TypeError, ValueError):
            return None


def _formfield(db_field: "models.Field[Any, Any]", **kwargs: Any) -> forms.Field | None:
    if db_field.name == "score":
        kwargs["choices_form_class"] = StarScoreField
    return db_field.formfield(**kwargs)


class ProductReviewForm(oscar_forms.ProductReviewForm):
    class Meta(oscar_forms.ProductReviewForm.Meta):
        formfield_callback = _formfield
