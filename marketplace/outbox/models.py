"""The transactional outbox: work a state change implies, written in the same transaction as the change."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One follow-up for one subscriber: ``handler`` is to run once for the event ``topic``/``key``.

    Written with the state change it follows (so a rolled-back change leaves none), published to Celery
    by the relay, and marked done by the worker in the same transaction as the subscriber's own writes.
    The pair (handler, key) is unique: emitting the same event twice makes one row, and a consumer that
    finds its row done does nothing, so at-least-once delivery gives exactly-once effects."""

    topic = models.CharField(_("topic"), max_length=64)
    handler = models.CharField(_("subscriber"), max_length=96)
    key = models.CharField(_("key"), max_length=191)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    # The relay publishes a row when this time has come; after publishing it is set a little ahead, so a
    # message the broker lost (a restarted broker, a worker gone for good) is published again.
    available_at = models.DateTimeField(_("due"), default=timezone.now)
    published_at = models.DateTimeField(_("last published"), null=True, blank=True)
    publish_count = models.PositiveIntegerField(_("times published"), default=0)
    failures = models.PositiveIntegerField(_("failed runs"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # Taken by a worker delivering its subscriber's rows together (``outbox_deliver_many``) until then: the
    # others leave it alone meanwhile; a worker that died lets it go when the time passes.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Who claimed it: the Celery task's id, so the same task redelivered after its worker was killed takes
    # its rows back at once instead of waiting for the claim to lapse.
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        constraints = [models.UniqueConstraint(fields=["handler", "key"], name="outbox_once_per_handler")]
        indexes = [
            # What the relay reads every poll: the few rows still to do, by due time.
            models.Index(fields=["available_at"], name="outbox_pending", condition=Q(done_at__isnull=True)),
            models.Index(fields=["done_at"], name="outbox_done_at"),
            # What a task delivered again looks for: the rows it had claimed, still to do.
            models.Index(fields=["claimed_by"], name="outbox_claimed", condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.key} → {self.handler}"


class SentNotification(models.Model):
    """A notice claimed for sending (``marketplace.outbox.notices.notice_send_once``): each goes once."""

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=128)
    recipients = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="notification_once")]
        db_table = "checkout_sentnotification"  # kept its name when it moved from the checkout

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
