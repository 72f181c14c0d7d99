"""Logistics on the Suichang model: the partners that carry parcels (village service points, county hubs,
express and cold-chain carriers), where they serve, what they can carry and charge, how many parcels a day
they take; the consignment planned for each paid shop order as ordered legs, the tracking events the
partners post, and an event row for every move of a consignment's or a leg's status."""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext_lazy as _
from psycopg.types.json import Json

from marketplace.i18n import pick


class LogisticsPartner(models.Model):
    class Kind(models.TextChoices):
        SERVICE_POINT = "service_point", _("Village service point")
        HUB = "hub", _("County hub")
        EXPRESS = "express", _("Express carrier")
        COLD_CHAIN = "cold_chain", _("Cold-chain carrier")

    code = models.SlugField(_("Code"), max_length=64, unique=True)
    name = models.CharField(_("Name"), max_length=128)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, db_index=True)
    cold_chain = models.BooleanField(_("Can keep goods chilled"), default=False)
    max_parcel_weight_g = models.PositiveIntegerField(_("Heaviest parcel (g)"), default=30_000)
    daily_capacity = models.PositiveIntegerField(_("Parcels a day"), default=100)
    active = models.BooleanField(_("Working with the market"), default=True, db_index=True)
    contact_name = models.CharField(_("Contact"), max_length=64, blank=True)
    phone = models.CharField(_("Phone"), max_length=20, blank=True)
    # The partner's people who use the portal.
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="logistics_partners")
    # Optional outbound webhook: new legs and their status moves are POSTed here, signed with HMAC-SHA256
    # of "<timestamp>.<body>" (``logistics.webhooks``; docs/partner-webhooks.md).
    webhook_url = models.URLField(_("Webhook URL"), blank=True)
    webhook_secret = models.CharField(_("Webhook secret"), max_length=128, blank=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("Logistics partner")
        verbose_name_plural = _("Logistics partners")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)


class ServiceArea(models.Model):
    """A region a partner serves; it covers the region and everything under it."""

    partner = models.ForeignKey(LogisticsPartner, on_delete=models.CASCADE, related_name="service_areas")
    region = models.ForeignKey("places.Region", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "region"], name="service_area_unique")]

    def __str__(self) -> str:
        return f"{self.partner_id} → {self.region_id}"


class PriceRule(models.Model):
    """What a partner charges, and how many days it promises, for parcels to one destination zone: a region
    (the deepest rule whose region holds the destination applies) or, with no region, everywhere else."""

    partner = models.ForeignKey(LogisticsPartner, on_delete=models.CASCADE, related_name="price_rules")
    zone = models.ForeignKey(
        "places.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_kg = models.DecimalField(_("First kg"), max_digits=8, decimal_places=2)
    extra_kg = models.DecimalField(_("Each further kg"), max_digits=8, decimal_places=2, default=0)
    promised_days = models.PositiveSmallIntegerField(_("Promised days"), default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "zone"], name="price_rule_one_per_zone")]

    def __str__(self) -> str:
        return f"{self.partner_id} @ {self.zone_id or '*'}"


class PartnerDayLoad(models.Model):
    """Parcels booked on a partner for one day; booked only by a conditional UPDATE below the capacity."""

    partner = models.ForeignKey(LogisticsPartner, on_delete=models.CASCADE, related_name="day_loads")
    day = models.DateField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "day"], name="partner_day_load_unique")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.booked}"


class JSONTextField(models.JSONField):
    """JSON kept as its text: PostgreSQL's ``json`` (checked, stored as written) instead of ``jsonb``
    (parsed into a binary tree on every write, and larger: over the 2 kB at which a row is compressed).
    For records written in bulk and read whole, never searched inside: the ``jsonb`` lookups (``=``,
    ``has_key``, ``contains``…) fail on it with "operator does not exist". Other databases: JSONField."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(
        self,
        value: Any,  # noqa: ANN401  (any JSON value)
        connection: BaseDatabaseWrapper,
        prepared: bool = False,  # noqa: FBT001, FBT002  (Django's signature)
    ) -> Any:  # noqa: ANN401
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        return Json(value, dumps=lambda obj: json.dumps(obj, cls=self.encoder))

    def from_db_value(
        self,
        value: Any,  # noqa: ANN401
        expression: Any,  # noqa: ANN401
        connection: BaseDatabaseWrapper,
    ) -> Any:  # noqa: ANN401
        # psycopg reads a json column as Python values already (Django reads jsonb as text).
        if isinstance(value, str):
            return super().from_db_value(value, expression, connection)
        return value


class Consignment(models.Model):
    """How one shop order's parcels travel: its legs, in order, and why each partner was chosen."""

    class Status(models.TextChoices):
        ROUTED = "routed", _("Routed")
        NEEDS_ROUTING = "needs_routing", _("Needs routing")
        DELIVERED = "delivered", _("Delivered")
        # The shop order was cancelled before it left the shop: its legs were called off.
        CANCELLED = "cancelled", _("Cancelled")

    shop_order = models.OneToOneField("order.ShopOrder", on_delete=models.PROTECT, related_name="consignment")
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, db_index=True)
    planned_for = models.DateField(_("Planned for"))
    needs_cold_chain = models.BooleanField(default=False)
    weight_g = models.PositiveIntegerField(default=0)
    origin = models.ForeignKey("places.Region", null=True, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey("places.Region", null=True, on_delete=models.PROTECT, related_name="+")
    # Every routing attempt: the candidates of each leg, what excluded each, the scores, the choice.
    # Kept as JSON text (``JSONTextField``: written in bulk by routing, read whole).
    decisions = JSONTextField(default=list)
    reason = models.TextField(_("Why it needs routing"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Consignment")
        verbose_name_plural = _("Consignments")

    def __str__(self) -> str:
        return f"consignment of {self.shop_order_id}"


class Leg(models.Model):
    class Kind(models.TextChoices):
        FIRST_MILE = "first_mile", _("First mile")
        HUB = "hub", _("County hub")
        CARRIER = "carrier", _("Line haul and delivery")

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Done")
        EXCEPTION = "exception", _("Exception")
        # Its shop order was cancelled: the partner must not carry it (told through its webhook).
        CANCELLED = "cancelled", _("Cancelled")

    consignment = models.ForeignKey(Consignment, on_delete=models.CASCADE, related_name="legs")
    sequence = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    partner = models.ForeignKey(LogisticsPartner, on_delete=models.PROTECT, related_name="legs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ASSIGNED, db_index=True)
    day = models.DateField(_("Booked for"))
    cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    promised_days = models.PositiveSmallIntegerField(default=0)
    reject_reason = models.TextField(blank=True)
    # Set by the beat task when no tracking event came by the day the partner promised.
    overdue_since = models.DateTimeField(null=True, blank=True, db_index=True)
    # The time of the first temperature reading outside the goods' storage band (``logistics.coldchain``);
    # set once, like ``overdue_since``, and the association told once.
    cold_chain_breach_at = models.DateTimeField(
        _("Cold chain broken at"), null=True, blank=True, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consignment_id", "sequence", "pk"]
        # The association's logistics performance reads the legs booked for the days of a period.
        indexes = [models.Index(fields=["day", "partner"], name="logistics_leg_day_partner")]

    def __str__(self) -> str:
        return f"{self.consignment_id}#{self.sequence} {self.kind} by {self.partner_id}"


# Legs no partner carries: refused by theirs, or called off with their shop order. Not shown to the buyer,
# not counted in a partner's performance, no tracking events or readings.
LEGS_OFF = (Leg.Status.REJECTED, Leg.Status.CANCELLED)


class StatusMove(models.Model):
    """What every status move records besides from and to: who moved it, which partner, why, when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The partner whose report or refusal moved it (API or portal), if one did.
    partner = models.ForeignKey(
        LogisticsPartner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]


class ConsignmentEvent(StatusMove):
    """One move of a consignment's status (``logistics.states.consignment_move``); from blank: created."""

    consignment = models.ForeignKey(Consignment, on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(max_length=16, choices=Consignment.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Consignment.Status.choices)

    def __str__(self) -> str:
        return f"{self.consignment_id}: {self.from_status or '-'} → {self.to_status}"


class LegEvent(StatusMove):
    """One move of a leg's status (``logistics.states.leg_move``): who moved it and why. Not a tracking
    event: those are the partner's reports of the parcel, from which some of these moves are derived."""

    leg = models.ForeignKey(Leg, on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(max_length=16, choices=Leg.Status.choices)
    to_status = models.CharField(max_length=16, choices=Leg.Status.choices)

    def __str__(self) -> str:
        return f"{self.leg_id}: {self.from_status} → {self.to_status}"


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        PICKED_UP = "picked_up", _("Picked up")
        ARRIVED_AT_HUB = "arrived_at_hub", _("Arrived at the hub")
        DEPARTED = "departed", _("Departed")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Exception")

    leg = models.ForeignKey(Leg, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    note = models.TextField(blank=True)
    # Given by the partner: posting the same event twice records it once.
    idempotency_key = models.CharField(max_length=128)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["leg", "idempotency_key"], name="tracking_event_idempotent")
        ]

    def __str__(self) -> str:
        return f"{self.leg_id} {self.kind} @ {self.occurred_at}"

    @staticmethod
    def kind_label(kind: str, leg_kind: str) -> str:
        """What the buyer and the partner read for an event of ``kind`` on a leg of ``leg_kind``: a leg
        before the carrier's is done when the parcel is handed on to the next point (the county hub, the
        carrier), never signed for by the buyer."""
        if kind == TrackingEvent.Kind.DELIVERED and leg_kind != Leg.Kind.CARRIER:
            return str(_("Handed on to the next point"))
        return str(TrackingEvent.Kind(kind).label)

    @property
    def label(self) -> str:
        return self.kind_label(self.kind, self.leg.kind)


class PartnerToken(models.Model):
    """An API token of a partner. Only its SHA-256 is stored; the key is shown once when made."""

    partner = models.ForeignKey(LogisticsPartner, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.label or self.digest[:8]}"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class WebhookPayload(models.Model):
    """The exact JSON body of one webhook event, as signed and sent (Saleor's ``EventPayload``): a replay
    sends the same bytes again under a new delivery id and timestamp."""

    event = models.CharField(_("Event"), max_length=64)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class WebhookDelivery(models.Model):
    """One payload to be POSTed to one partner's webhook (Saleor's ``EventDelivery``): pending until an
    attempt is answered 2xx (succeeded) or the attempts run out (failed). ``key`` is the outbox event it
    was made for, so the same event makes one delivery however often the outbox runs it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    partner = models.ForeignKey(LogisticsPartner, on_delete=models.CASCADE, related_name="webhook_deliveries")
    payload = models.ForeignKey(WebhookPayload, on_delete=models.PROTECT, related_name="deliveries")
    leg = models.ForeignKey(Leg, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(_("Event"), max_length=64)
    key = models.CharField(max_length=191, unique=True)
    status = models.CharField(
        _("Status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    # Claimed by the worker sending it, until this time: a second worker running the same outbox row waits.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("Made"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["partner", "-created_at"], name="webhook_delivery_partner")]
        verbose_name = _("Webhook delivery")
        verbose_name_plural = _("Webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.partner_id} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """One POST of a delivery and what came back (Saleor's ``EventDeliveryAttempt``)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    sent_at = models.DateTimeField(_("Sent"))
    duration_ms = models.PositiveIntegerField(_("Took (ms)"), default=0)
    response_code = models.PositiveSmallIntegerField(_("Response code"), null=True, blank=True)
    response_body = models.TextField(_("Response"), blank=True)
    error = models.TextField(_("Error"), blank=True)

    class Meta:
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.sent_at}: {self.response_code or self.error[:40]}"


class TemperatureLogger(models.Model):
    """A temperature logger in a partner's truck or cold room, reporting over MQTT
    (``coldchain/<logger_id>/readings``); it signs each message with its secret and may only report on its
    partner's legs."""

    partner = models.ForeignKey(
        LogisticsPartner, on_delete=models.CASCADE, related_name="temperature_loggers"
    )
    logger_id = models.SlugField(_("Logger id"), max_length=64, unique=True)
    secret = models.CharField(_("Secret"), max_length=128)
    active = models.BooleanField(_("Active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Temperature logger")
        verbose_name_plural = _("Temperature loggers")

    def __str__(self) -> str:
        return self.logger_id


class LegTemperatureReading(models.Model):
    """A temperature measured with the goods of a leg, from the partner API or a truck's logger. The same
    (leg, time, logger) again is the same reading: recorded once."""

    class Source(models.TextChoices):
        API = "api", _("Partner API")
        MQTT = "mqtt", _("Truck logger")

    leg = models.ForeignKey(Leg, on_delete=models.CASCADE, related_name="temperature_readings")
    measured_at = models.DateTimeField(_("Measured at"))
    celsius = models.DecimalField(_("°C"), max_digits=4, decimal_places=1)
    source = models.CharField(_("Source"), max_length=8, choices=Source.choices)
    # Blank for a reading posted through the API without one (blank, not NULL: it is part of the key).
    logger_id = models.CharField(_("Logger id"), max_length=64, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measured_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["leg", "measured_at", "logger_id"], name="leg_reading_once")
        ]

    def __str__(self) -> str:
        return f"{self.leg_id} {self.celsius} °C @ {self.measured_at}"
