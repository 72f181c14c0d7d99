"""Oscar's basket views, forked: the basket page's formset survives a hand-made form that leaves out the
optional counts of its management form (MIN_NUM_FORMS, MAX_NUM_FORMS); an addition reads its product with
what it reads of it."""

from typing import Any

from django.forms.formsets import MAX_NUM_FORM_COUNT, MIN_NUM_FORM_COUNT, BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.generic import FormView
from oscar.apps.basket import views as oscar_views
from oscar.apps.basket.views import *  # noqa: F403  (Oscar's other basket views, unchanged)
from oscar.core.loading import get_model

Product = get_model("catalogue", "Product")


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


class BasketAddView(oscar_views.BasketAddView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Oscar's reads the product alone, then its shop (is it on sale?), its kind, and its stock record
        # twice (the form's check, then the addition): read here with them, in two queries.
        self.product = get_object_or_404(
            Product.objects.select_related("shop", "product_class").prefetch_related("stockrecords"),
            pk=kwargs["pk"],
        )
        return FormView.post(self, request, *args, **kwargs)
