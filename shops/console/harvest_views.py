"""The console's harvest pages: the shop's batches (how much each has left, which orders drew from it) and
the form to record one, on a phone at the orchard's edge."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from shops.console.access import ShopConsoleMixin
from shops.console.once import SubmitOnce
from shops.harvest.forms import BatchForm
from shops.harvest.selectors import console_batches
from shops.harvest.services import BatchRejected, NewBatch, harvest_batch_record

SECTION = "orchard"


class BatchListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/harvest/batches.html"
    section = SECTION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(batches=console_batches(shop=self.shop), **kwargs)


class BatchCreateView(SubmitOnce, ShopConsoleMixin, FormView):
    form_class = BatchForm
    template_name = "shops/console/harvest/batch_form.html"
    section = SECTION

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "shop": self.shop}

    def form_valid(self, form: BatchForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            batch = harvest_batch_record(
                shop_id=self.shop.pk,
                new=NewBatch(
                    products=tuple(data["products"]),
                    plot=data["plot"],
                    picked_on=data["picked_on"],
                    quantity_kg=data["quantity_kg"],
                    grade=data["grade"],
                    brix=data["brix"],
                    note=data["note"],
                    photos=tuple(data["photos"] or ()),
                ),
                user=cast(AbstractBaseUser, self.request.user),  # the console signs farmers in
            )
        except BatchRejected as rejected:
            form.add_error(None, str(rejected))
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Batch %(number)s recorded: %(kg)s kg.") % {"number": batch.number, "kg": data["quantity_kg"]},
        )
        return redirect("console:harvest")
