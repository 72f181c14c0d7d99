"""Reads of logistics for people: a shop order's tracking timeline (buyer's order page, farmer console), and
a leg's temperatures against its goods' band (partner portal, admin, the trace page)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch

from logistics.coldchain import Band, leg_band
from logistics.models import LEGS_OFF, Consignment, Leg, LegTemperatureReading, TrackingEvent


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    partner: str
    note: str


@dataclass(frozen=True)
class Tracking:
    status: str
    status_label: str
    legs: list[Leg]
    entries: list[TimelineEntry]


def _consignments(shop_order_ids: list[int]) -> dict[int, Consignment]:
    legs = (
        Leg.objects.exclude(status__in=LEGS_OFF)
        .select_related("partner")
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "pk")))
    )
    return {
        consignment.shop_order_id: consignment
        for consignment in Consignment.objects.filter(shop_order_id__in=shop_order_ids).prefetch_related(
            Prefetch("legs", queryset=legs)
        )
    }


def shop_orders_tracking(shop_order_ids: list[int]) -> dict[int, Tracking]:
    """Each shop order's route and events, newest last, in three queries whatever the count."""
    tracking = {}
    for shop_order_id, consignment in _consignments(shop_order_ids).items():
        legs = list(consignment.legs.all())
        entries = [
            TimelineEntry(
                at=event.occurred_at,
                label=TrackingEvent.kind_label(event.kind, leg.kind),
                partner=leg.partner.display_name,
                note=event.note,
            )
            for leg in legs
            for event in leg.events.all()
        ]
        tracking[shop_order_id] = Tracking(
            status=consignment.status,
            status_label=consignment.get_status_display(),
            legs=legs,
            entries=sorted(entries, key=lambda entry: entry.at),
        )
    return tracking


@dataclass(frozen=True)
class TemperaturePoint:
    at: datetime
    celsius: Decimal
    in_band: bool


@dataclass(frozen=True)
class TemperatureSummary:
    """A leg's readings against the storage band of its goods (None bounds: open on that side)."""

    storage: str
    band_low: Decimal | None
    band_high: Decimal | None
    band_label: str
    readings_count: int
    min: Decimal | None
    max: Decimal | None
    breach_at: datetime | None
    points: list[TemperaturePoint]  # in time order, at most CHART_POINTS (out-of-band ones kept)

    def chart(self, width: int = 100, height: int = 40) -> dict[str, object]:
        """The points scaled to an SVG viewBox of ``width`` × ``height`` (a polyline), with the band as a
        rectangle and the out-of-band points as dots; empty without readings."""
        if not self.points:
            return {}
        values = [p.celsius for p in self.points]
        bounds = [b for b in (self.band_low, self.band_high) if b is not None]
        low, high = min([*values, *bounds]) - 1, max([*values, *bounds]) + 1
        first, last = self.points[0].at, self.points[-1].at
        span = (last - first).total_seconds() or 1.0

        def x(at: datetime) -> float:
            return round((at - first).total_seconds() / span * width, 2)

        def y(celsius: Decimal) -> float:
            return round(float((high - celsius) / (high - low)) * height, 2)

        band_top = y(self.band_high) if self.band_high is not None else 0.0
        band_bottom = y(self.band_low) if self.band_low is not None else float(height)
        return {
            "width": width,
            "height": height,
            "line": " ".join(f"{x(p.at)},{y(p.celsius)}" for p in self.points),
            "band_y": band_top,
            "band_height": round(band_bottom - band_top, 2),
            "outside": [(x(p.at), y(p.celsius)) for p in self.points if not p.in_band],
        }


CHART_POINTS = 120


def leg_temperature_summary(leg: Leg) -> TemperatureSummary:
    """The leg's band, how many readings, their extremes, the breach flag and the points of a small chart
    (evenly thinned to ``CHART_POINTS``, out-of-band readings always kept). Two queries."""
    return legs_temperature_summary([leg])[leg.pk]


def legs_temperature_summary(legs: Sequence[Leg]) -> dict[int, TemperatureSummary]:
    """``leg_temperature_summary`` of each leg, by its id: one query for the band of each consignment the
    legs belong to (a parcel's legs share one) and one for every leg's readings."""
    if not legs:
        return {}
    bands: dict[int, Band] = {}
    for leg in legs:
        if leg.consignment_id not in bands:
            bands[leg.consignment_id] = leg_band(leg)
    readings: dict[int, list[tuple[datetime, Decimal]]] = {leg.pk: [] for leg in legs}
    for leg_id, at, celsius in (
        LegTemperatureReading.objects.filter(leg__in=[leg.pk for leg in legs])
        .order_by("leg_id", "measured_at", "pk")
        .values_list("leg_id", "measured_at", "celsius")
    ):
        readings[leg_id].append((at, celsius))
    return {leg.pk: _temperature_summary(leg, bands[leg.consignment_id], readings[leg.pk]) for leg in legs}


def _temperature_summary(leg: Leg, band: Band, rows: list[tuple[datetime, Decimal]]) -> TemperatureSummary:
    points = [TemperaturePoint(at=at, celsius=celsius, in_band=band.holds(celsius)) for at, celsius in rows]
    if len(points) > CHART_POINTS:
        step = len(points) / CHART_POINTS
        kept = {int(i * step) for i in range(CHART_POINTS)} | {len(points) - 1}
        points = [p for i, p in enumerate(points) if i in kept or not p.in_band]
    celsius = [c for _at, c in rows]
    return TemperatureSummary(
        storage=band.storage,
        band_low=band.low,
        band_high=band.high,
        band_label=band.label,
        readings_count=len(rows),
        min=min(celsius) if celsius else None,
        max=max(celsius) if celsius else None,
        breach_at=leg.cold_chain_breach_at,
        points=points,
    )
