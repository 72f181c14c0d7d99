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


class FormSubmission(models.Model):
    """One sending of a console form that makes something (a listing, a harvest batch, a plot, a device, an
    alert rule), under the random token its page carried (``shops/console/once.py``). It is written in the
    transaction of what the form made, so a second sending of the same page (a double click, a resend after
    a timeout, the same page in two tabs) finds it and makes nothing again."""

    token = models.CharField(_("Token"), max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(_("Page"), max_length=255)
    done_url = models.CharField(_("Went on to"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Form sent")
        verbose_name_plural = _("Forms sent")

    def __str__(self) -> str:
        return f"{self.path} ({self.token[:8]}…)"
