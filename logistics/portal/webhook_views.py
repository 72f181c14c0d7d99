"""The partner portal's webhook pages: the partner's own deliveries (newest first), one delivery with its
body and attempts, and replaying it (a new delivery of the same body, through the outbox). Deliveries are
looked up within the session's partner, so another partner's is 404 for GET and POST alike."""

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from logistics.models import WebhookDelivery
from logistics.partner_selectors import partner_webhook_deliveries, partner_webhook_delivery
from logistics.portal.views import PartnerPortalMixin
from logistics.webhooks import webhook_delivery_replay


class WebhookDeliveryListView(PartnerPortalMixin, TemplateView):
    template_name = "logistics/portal/webhooks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["deliveries"] = partner_webhook_deliveries(partner=self.partner)
        return context


class WebhookDeliveryObjectMixin(PartnerPortalMixin):
    kwargs: dict[str, Any]  # set by View.setup before dispatch

    def objects_load(self) -> None:
        try:
            self.delivery = partner_webhook_delivery(partner=self.partner, delivery_id=self.kwargs["pk"])
        except WebhookDelivery.DoesNotExist:
            raise Http404 from None


class WebhookDeliveryView(WebhookDeliveryObjectMixin, TemplateView):
    template_name = "logistics/portal/webhook.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            body = json.dumps(json.loads(self.delivery.payload.body), ensure_ascii=False, indent=2)
        except ValueError:
            body = self.delivery.payload.body
        context.update(delivery=self.delivery, body=body, attempts=list(self.delivery.attempts.all()))
        return context


class WebhookDeliveryReplayView(WebhookDeliveryObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        replay = webhook_delivery_replay(delivery_id=self.delivery.pk, partner=self.partner)
        messages.success(request, _("Sent again as delivery %(id)s.") % {"id": replay.pk})
        return redirect("logistics_portal:webhook", pk=replay.pk)
