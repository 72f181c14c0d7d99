"""Cold chain: temperatures measured with a leg's goods, from the partner API and from truck loggers over
MQTT; the storage band the goods need; a leg flagged once (``Leg.cold_chain_breach_at``) at its first
reading outside the band, and the association told through the outbox (``logistics.cold_chain_breach``).

Storage bands (°C, bounds included), one per ``Product.Storage``; a leg's band is the strictest of its
consignment's products (frozen, then chilled, then ambient):

    ambient  −5 … 35      dry goods (tea, bamboo shoots, honey) survive a cold night or a hot truck
    chilled   0 … 8       fresh fruit and vegetables (peaches), the common 0–8 °C chilled chain
    frozen     … −15      frozen meat (the Suichang farm pig); no lower bound
"""

import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from logistics.models import Leg, LegTemperatureReading, TemperatureLogger
from marketplace.order.models import ShopOrder
from marketplace.outbox.services import outbox_emit

if TYPE_CHECKING:
    from oscar.apps.order.models import Line

    from marketplace.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")
    Line = get_model("order", "Line")

# Written once per leg when its first out-of-band reading is recorded (key: the leg): the association is told.
COLD_CHAIN_BREACH = "logistics.cold_chain_breach"

Storage = Product.Storage


@dataclass(frozen=True)
class Band:
    """The temperatures goods may be kept at, bounds included; None: no bound on that side."""

    storage: str
    low: Decimal | None
    high: Decimal | None

    def holds(self, celsius: Decimal) -> bool:
        return (self.low is None or celsius >= self.low) and (self.high is None or celsius <= self.high)

    @property
    def label(self) -> str:
        if self.low is None:
            return f"≤ {self.high} °C"
        if self.high is None:
            return f"≥ {self.low} °C"
        return f"{self.low} … {self.high} °C"


BANDS: dict[str, Band] = {
    Storage.AMBIENT: Band(Storage.AMBIENT, Decimal(-5), Decimal(35)),
    Storage.CHILLED: Band(Storage.CHILLED, Decimal(0), Decimal(8)),
    Storage.FROZEN: Band(Storage.FROZEN, None, Decimal(-15)),
}
STRICTEST_FIRST = (Storage.FROZEN, Storage.CHILLED, Storage.AMBIENT)

# What a reading may say at all: a thermometer further out than this is broken, not a breach.
PLAUSIBLE_LOW, PLAUSIBLE_HIGH = Decimal(-40), Decimal(60)
# A logger's clock may run a little fast or start a little before the leg was booked.
CLOCK_SKEW = datetime.timedelta(minutes=5)
MAX_READINGS = 500
LOGGER_TOPIC = re.compile(r"^coldchain/(?P<logger_id>[-a-zA-Z0-9_]{1,64})/readings$")


class ColdChainError(ValueError):
    """Readings that cannot be recorded. ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReadingIn:
    """One reading as reported: when, how warm, by which logger ("" through the API without one)."""

    measured_at: datetime.datetime
    celsius: Decimal
    logger_id: str = ""


@dataclass(frozen=True)
class RecordOutcome:
    accepted: int  # new readings recorded
    duplicates: int  # readings recorded before (same leg, time and logger): ignored
    breach_at: datetime.datetime | None  # the leg's flag after this batch
    flagged_now: bool  # this batch set the flag (and told the association)


def leg_band(leg: Leg) -> Band:
    """The strictest storage band of the products in the leg's parcel (ambient when none is known)."""
    shop_order = ShopOrder.objects.filter(consignment__id=leg.consignment_id)
    storages = set(  # one query: the shop order's lines are the order's lines of its shop
        Line.objects.filter(
            order_id=Subquery(shop_order.values("order_id")[:1]),
            partner_id=Subquery(shop_order.values("shop_id")[:1]),
        )
        .exclude(product=None)
        .values_list("product__storage", flat=True)
    )
    storage = next((s for s in STRICTEST_FIRST if s in storages), Storage.AMBIENT)
    return BANDS[storage]


def reading_problem(*, leg: Leg, reading: ReadingIn, now: datetime.datetime | None = None) -> str:
    """Why ``reading`` cannot be recorded for ``leg`` ("" when it can)."""
    now = now or timezone.now()
    if timezone.is_naive(reading.measured_at):
        return _("Give the time with its time zone.")
    if reading.measured_at > now + CLOCK_SKEW:
        return _("The reading cannot be in the future.")
    if leg.created_at is not None and reading.measured_at < leg.created_at - CLOCK_SKEW:
        return _("The reading cannot be before the leg was booked (%(at)s).") % {
            "at": timezone.localtime(leg.created_at).isoformat(timespec="minutes")
        }
    if not PLAUSIBLE_LOW <= reading.celsius <= PLAUSIBLE_HIGH:
        return _("A temperature must be between %(low)s and %(high)s °C.") % {
            "low": PLAUSIBLE_LOW,
            "high": PLAUSIBLE_HIGH,
        }
    return ""


def leg_readings_record(*, leg: Leg, readings: Sequence[ReadingIn], source: str) -> RecordOutcome:
    """Record valid ``readings`` of ``leg`` (the caller checked the leg is its partner's and each reading
    with ``reading_problem``). A reading seen before is ignored. The first reading outside the goods'
    band flags the leg and tells the association, once per leg, in the same transaction."""
    if len(readings) > MAX_READINGS:
        raise ColdChainError(
            _("At most %(max)d readings at a time.") % {"max": MAX_READINGS}, field="readings"
        )
    if leg.status == Leg.Status.REJECTED:
        raise ColdChainError(_("This leg was rejected: it can have no readings."))
    if leg.status == Leg.Status.CANCELLED:
        raise ColdChainError(_("This leg was called off (its order was cancelled): do not carry it."))
    unique: dict[tuple[datetime.datetime, str], ReadingIn] = {}
    for reading in readings:
        unique.setdefault((reading.measured_at, reading.logger_id), reading)
    with transaction.atomic():
        seen = set(
            LegTemperatureReading.objects.filter(
                leg=leg, measured_at__in=[at for at, _logger in unique]
            ).values_list("measured_at", "logger_id")
        )
        new = [reading for key, reading in unique.items() if key not in seen]
        LegTemperatureReading.objects.bulk_create(
            [
                LegTemperatureReading(
                    leg=leg,
                    measured_at=r.measured_at,
                    celsius=r.celsius.quantize(Decimal("0.1")),
                    source=source,
                    logger_id=r.logger_id,
                )
                for r in new
            ],
            ignore_conflicts=True,  # a concurrent batch with the same reading: one row
        )
        flagged_now = False
        band = leg_band(leg) if new else None
        outside = [r for r in new if band is not None and not band.holds(r.celsius.quantize(Decimal("0.1")))]
        if outside:
            first = min(outside, key=lambda r: r.measured_at)
            flagged_now = bool(
                Leg.objects.filter(pk=leg.pk, cold_chain_breach_at=None).update(
                    cold_chain_breach_at=first.measured_at
                )
            )
            if flagged_now:
                outbox_emit(
                    topic=COLD_CHAIN_BREACH,
                    key=f"leg-{leg.pk}",
                    payload={
                        "leg_id": leg.pk,
                        "celsius": str(first.celsius.quantize(Decimal("0.1"))),
                        "measured_at": first.measured_at.isoformat(),
                    },
                )
        breach_at = Leg.objects.filter(pk=leg.pk).values_list("cold_chain_breach_at", flat=True).get()
    leg.cold_chain_breach_at = breach_at
    return RecordOutcome(
        accepted=len(new), duplicates=len(readings) - len(new), breach_at=breach_at, flagged_now=flagged_now
    )


# --- truck loggers over MQTT ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggerOutcome:
    """What became of one logger message: readings recorded, ignored as seen before, and refused (with
    the first reason; a message refused whole counts all its readings, or 1 when they cannot be read)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reason: str = ""


def logger_signature(*, secret: str, body: str) -> str:
    """The hex HMAC-SHA256 of the body's UTF-8 bytes with the logger's secret."""
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


class _Refused(Exception):  # noqa: N818  (a refusal, not an error of ours)
    def __init__(self, reason: str, count: int = 1) -> None:
        super().__init__(reason)
        self.reason, self.count = reason, count


def logger_payload_record(*, topic: str, payload: bytes) -> LoggerOutcome:
    """Record one MQTT message of a truck's temperature logger.

    Topic: ``coldchain/<logger_id>/readings``, the logger registered as a ``TemperatureLogger`` of a
    partner. Payload: a UTF-8 JSON envelope whose ``body`` is itself JSON text, signed as that exact text::

        {"body": "{\\"leg\\": 123, \\"readings\\": [{\\"measured_at\\": \\"2026-07-15T09:30:00+08:00\\",
                    \\"celsius\\": 4.2}, ...]}",
         "sig": "<hex HMAC-SHA256 of the body's UTF-8 bytes, keyed with the logger's secret>"}

    ``leg`` is the leg's id (the one the partner API shows); the leg must be the logger's partner's.
    ``readings``: 1 to 500, each an ISO 8601 time with its offset and a temperature in °C (a number or a
    numeric string; kept to one decimal). Whole messages are refused for an unknown topic or logger, a bad
    envelope or signature, a body that is not that shape, or a leg that is not the partner's; otherwise each
    reading is checked on its own (time not ahead of now by more than 5 minutes nor before the leg was
    booked, −40 … 60 °C) and the good ones recorded (a reading seen before is ignored)."""
    try:
        logger, leg, items = _logger_message_read(topic=topic, payload=payload)
    except _Refused as refused:
        return LoggerOutcome(rejected=refused.count, reason=refused.reason)
    good: list[ReadingIn] = []
    rejected, reason = 0, ""
    now = timezone.now()
    for index, item in enumerate(items):
        reading = _logger_reading(item, logger.logger_id)
        if reading is None:
            problem = "not {'measured_at': '<ISO 8601 with offset>', 'celsius': <number>}"
        else:
            problem = reading_problem(leg=leg, reading=reading, now=now)
        if problem or reading is None:
            rejected += 1
            reason = reason or f"reading {index}: {problem}"
        else:
            good.append(reading)
    if not good:
        return LoggerOutcome(rejected=rejected, reason=reason)
    try:
        outcome = leg_readings_record(leg=leg, readings=good, source=LegTemperatureReading.Source.MQTT)
    except ColdChainError as error:
        return LoggerOutcome(rejected=len(items), reason=str(error))
    return LoggerOutcome(
        accepted=outcome.accepted, duplicates=outcome.duplicates, rejected=rejected, reason=reason
    )


def _logger_message_read(*, topic: str, payload: bytes) -> tuple[TemperatureLogger, Leg, list[Any]]:
    """The logger, its leg and the raw readings of a message; ``_Refused`` when the message as a whole
    cannot be taken."""
    match = LOGGER_TOPIC.match(topic)
    if match is None:
        raise _Refused(f"topic {topic!r} is not coldchain/<logger_id>/readings")
    logger = TemperatureLogger.objects.filter(
        logger_id=match["logger_id"], active=True, partner__active=True
    ).first()
    if logger is None:
        raise _Refused(f"no active logger {match['logger_id']!r}")
    try:
        envelope = json.loads(payload.decode("utf-8"))
        body, signature = envelope["body"], envelope["sig"]
        if not isinstance(body, str) or not isinstance(signature, str):
            raise TypeError("body and sig must be strings")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise _Refused(f"the envelope is not {{'body': '<json>', 'sig': '<hex>'}}: {error}") from None
    if not hmac.compare_digest(logger_signature(secret=logger.secret, body=body), signature.lower()):
        raise _Refused("bad signature")
    try:
        data = json.loads(body)
        leg_id, items = data["leg"], data["readings"]
        if not isinstance(leg_id, int) or isinstance(leg_id, bool) or not isinstance(items, list):
            raise TypeError("leg must be an integer and readings a list")
    except (ValueError, KeyError, TypeError) as error:
        raise _Refused(f"the body is not {{'leg': <id>, 'readings': [...]}}: {error}") from None
    if not items:
        raise _Refused("no readings")
    if len(items) > MAX_READINGS:
        raise _Refused(f"at most {MAX_READINGS} readings a message", len(items))
    leg = (
        Leg.objects.select_related("consignment__shop_order")
        .filter(pk=leg_id, partner_id=logger.partner_id)
        .first()
    )
    if leg is None:
        raise _Refused(f"leg {leg_id} is not a leg of the logger's partner", len(items))
    return logger, leg, items


def _logger_reading(item: Any, logger_id: str) -> ReadingIn | None:  # noqa: ANN401  (parsed JSON)
    if not isinstance(item, dict):
        return None
    at, celsius = item.get("measured_at"), item.get("celsius")
    if not isinstance(at, str) or isinstance(celsius, bool) or not isinstance(celsius, int | float | str):
        return None
    try:
        measured_at = parse_datetime(at)
        value = Decimal(str(celsius))
    except (ValueError, InvalidOperation):
        return None
    if measured_at is None or timezone.is_naive(measured_at) or not value.is_finite():
        return None
    return ReadingIn(measured_at=measured_at, celsius=value, logger_id=logger_id)
