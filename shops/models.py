"""Village shops' records beyond Oscar's Partner: the history of every status change."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.partner.models import Partner


class ShopStatusEvent(models.Model):
    """One move of a shop's status (applied → approved → suspended …): who, when, why."""

    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(_("From"), max_length=16, choices=Partner.Status.choices, blank=True)
    to_status = models.CharField(_("To"), max_length=16, choices=Partner.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("Reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("Shop status event")
        verbose_name_plural = _("Shop status events")

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.from_status or '-'} → {self.to_status}"
