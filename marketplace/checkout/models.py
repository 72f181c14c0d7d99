"""What the checkout keeps besides Oscar's orders: the notices already sent, so each goes once."""

from django.db import models


class SentNotification(models.Model):
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=128)
    recipients = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="notification_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


from oscar.apps.checkout.models import *  # noqa: E402,F403
