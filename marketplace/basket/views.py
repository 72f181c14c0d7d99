"""Oscar's basket views, forked: the basket page's formset survives a hand-made form that leaves out the
optional counts of its management form (MIN_NUM_FORMS, MAX_NUM_FORMS)."""

from typing import Any

from django.forms.formsets import MAX_NUM_FORM_COUNT, MIN_NUM_FORM_COUNT, BaseFormSet
from oscar.apps.basket import views as oscar_views
from oscar.apps.basket.views import *  # noqa: F403  (Oscar's other basket views, unchanged)


class BasketView(oscar_views.BasketView):
    def remove_deleted_forms(self, formset: "BaseFormSet[Any]") -> None:
        # Oscar copies every field of the management form from the posted data to redisplay the lines
        # left after a deletion; the optional counts may be missing (a KeyError, a 500, when an invalid
        # formset such as a 20-digit form total also asked for a deletion). Django ignores their values.
        data = formset.data.copy()  # type: ignore[attr-defined]  # the posted QueryDict
        for name, value in ((MIN_NUM_FORM_COUNT, formset.min_num), (MAX_NUM_FORM_COUNT, formset.max_num)):
            data.setdefault(formset.management_form.add_prefix(name), str(value))
        formset.data = data
        super().remove_deleted_forms(formset)
