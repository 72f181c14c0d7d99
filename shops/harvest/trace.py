"""What a parcel's public trace page shows (``/t/<code>/``): its produce and where it grew (shop, village,
plot, the batch's picking day, grade and sugar, the plot's sensor season before the picking), the route
with each partner and the cold chain's readings against the produce's band, and the certifications. No
personal data: no buyer, no address, no order number. A fixed number of queries whatever the parcel holds
(legs are at most three: village service point, county hub, carrier)."""

import datetime
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Prefetch, QuerySet
from oscar.core.loading import get_model

from logistics.models import LEGS_OFF, Consignment, Leg, LegEvent, LegTemperatureReading, LogisticsPartner
from logistics.selectors import TemperatureSummary, legs_temperature_summary
from marketplace.storefront.kept import kept_stale
from shops.harvest.models import HarvestBatch, LineDraw, ParcelTrace
from shops.orchard.metrics import BY_NUMBER, Metric
from shops.orchard.models import DailyRollup

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
    from oscar.apps.order.models import Line
else:
    Line = get_model("order", "Line")

# The growing season shown: this many days of the plot's readings up to the picking day.
SEASON_DAYS = 120
# Where a parcel's produce grew is kept drawn per trace (marketplace/storefront/kept.py; key: the trace's id).
TRACE_SCOPE = "trace"


@dataclass(frozen=True)
class SeasonMetric:
    metric: Metric
    low: float
    high: float
    mean: float
    days: int
    # (day, low, mean, high) per day, for the chart
    points: list[tuple[datetime.date, float, float, float]] = field(default_factory=list)

    def chart(self, width: int = 100, height: int = 40) -> dict[str, object]:
        """The daily means as an SVG polyline and the daily lows and highs as a band (a polygon), scaled to a
        viewBox of ``width`` × ``height``; empty with fewer than two days."""
        if len(self.points) < 2:  # noqa: PLR2004  (a line needs two points)
            return {}
        first = self.points[0][0]
        span = (self.points[-1][0] - first).days or 1
        low, high = self.low, self.high
        scale = (high - low) or 1.0

        def x(day: datetime.date) -> float:
            return round((day - first).days / span * width, 2)

        def y(value: float) -> float:
            return round((high - value) / scale * height, 2)

        upper = [f"{x(day)},{y(top)}" for day, _low, _mean, top in self.points]
        lower = [f"{x(day)},{y(bottom)}" for day, bottom, _mean, _top in reversed(self.points)]
        return {
            "width": width,
            "height": height,
            "line": " ".join(f"{x(day)},{y(mean)}" for day, _low, mean, _top in self.points),
            "band": " ".join(upper + lower),
        }


@dataclass(frozen=True)
class TracedBatch:
    batch: HarvestBatch
    grams: int
    season: list[SeasonMetric]


@dataclass(frozen=True)
class TracedLine:
    product: "Product"
    quantity: int
    batches: list[TracedBatch]


@dataclass(frozen=True)
class TracedLeg:
    leg: Leg
    temperatures: TemperatureSummary


@dataclass(frozen=True)
class Trace:
    """Where the parcel's produce grew: its shop, lines, batches and their seasons. Kept drawn in the
    database per trace (``TRACE_SCOPE``); its journey (``trace_journey``) is drawn live."""

    code: str
    shop: object
    lines: list[TracedLine]

    @property
    def shop_places(self) -> list:
        """The shop's county, town and village (those it has)."""
        shop = self.shop
        return [p for p in (shop.county, shop.town, shop.village) if p is not None]  # type: ignore[attr-defined]

    @property
    def certifications(self) -> list:
        seen: dict[int, object] = {}
        for line in self.lines:
            product: Any = line.product  # our Product (certifications are ours, not Oscar's)
            for certification in product.certifications.all():
                seen.setdefault(certification.pk, certification)
        return list(seen.values())


def traces_stale(traces: "QuerySet[ParcelTrace]") -> None:
    """In a change's transaction: these traces' kept parts are drawn again by their next page."""
    kept_stale(scope=TRACE_SCOPE, keys=traces)


def traces_of_lines_stale(*, line_ids: Collection[int]) -> None:
    """In a change's transaction: the traces of these order lines' shop orders are drawn again."""
    if line_ids:
        traces_stale(ParcelTrace.objects.filter(shop_order__order__lines__in=list(line_ids)))


def trace_for_code(code: str) -> Trace | None:
    """Where the parcel's produce grew, or None for a code no parcel has (its journey: ``trace_journey``)."""
    trace = (
        ParcelTrace.objects.filter(code=code)
        .select_related("shop_order__shop__village", "shop_order__shop__town", "shop_order__shop__county")
        .first()
    )
    if trace is None:
        return None
    shop_order = trace.shop_order
    lines = list(
        Line.objects.filter(order_id=shop_order.order_id, partner_id=shop_order.shop_id)
        .select_related("product")
        .prefetch_related(
            "product__certifications",
            Prefetch(
                "harvest_draws",
                queryset=LineDraw.objects.select_related("batch__plot__village").order_by(
                    "batch__picked_on", "batch_id"
                ),
            ),
            "harvest_draws__batch__photos",
        )
        .order_by("pk")
    )
    batches = {d.batch_id: d.batch for line in lines for d in line.harvest_draws.all()}
    seasons = _seasons([b for b in batches.values() if b.plot_id is not None])
    traced_lines = [
        TracedLine(
            product=line.product,
            quantity=line.quantity,
            batches=[
                TracedBatch(batch=d.batch, grams=d.grams, season=seasons.get(d.batch_id, []))
                for d in line.harvest_draws.all()
            ],
        )
        for line in lines
        if line.product is not None
    ]
    return Trace(code=code, shop=shop_order.shop, lines=traced_lines)


def trace_journey_state(*, trace_id: int) -> tuple[tuple[object, ...], ...]:
    """Everything the trace's journey shows, as a fingerprint, in one plain query: per leg its status, kind,
    partner and the partner's names, its breach flag, how many status moves it has had, and how many
    readings with the newest one's id. A kept journey (``{% kept %}`` varied on this) is drawn again when it
    moves; a parcel that has arrived keeps its journey."""
    legs, partners = Leg._meta.db_table, LogisticsPartner._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.id, l.status, l.kind, p.id, p.name, p.name_en, l.cold_chain_breach_at,"  # noqa: S608
            f" (SELECT COUNT(*) FROM {LegEvent._meta.db_table} e WHERE e.leg_id = l.id),"
            f" (SELECT COUNT(*) FROM {LegTemperatureReading._meta.db_table} r WHERE r.leg_id = l.id),"
            f" (SELECT MAX(r.id) FROM {LegTemperatureReading._meta.db_table} r WHERE r.leg_id = l.id)"
            f" FROM {legs} l JOIN {partners} p ON p.id = l.partner_id"
            f" WHERE l.consignment_id IN (SELECT c.id FROM {Consignment._meta.db_table} c"
            f"   JOIN {ParcelTrace._meta.db_table} t ON t.shop_order_id = c.shop_order_id WHERE t.id = %s)"
            " ORDER BY l.sequence, l.id",
            [int(trace_id)],
        )
        return tuple(tuple(row) for row in cursor.fetchall())


def trace_journey(code: str) -> list[TracedLeg]:
    """The parcel's legs with each one's temperatures, as they are now: four queries (the consignment,
    its legs, their band, their readings)."""
    consignment = Consignment.objects.filter(shop_order__trace__code=code).first()
    if consignment is None:
        return []
    legs = list(
        Leg.objects.filter(consignment=consignment)
        .exclude(status__in=LEGS_OFF)
        .select_related("partner", "consignment")
        .order_by("sequence", "pk")
    )
    temperatures = legs_temperature_summary(legs)
    return [TracedLeg(leg=leg, temperatures=temperatures[leg.pk]) for leg in legs]


def _seasons(batches: list[HarvestBatch]) -> dict[int, list[SeasonMetric]]:
    """Per batch, its plot's daily roll-ups over the SEASON_DAYS up to its picking day (one query)."""
    if not batches:
        return {}
    plot_ids = {b.plot_id for b in batches}
    first = min(b.picked_on for b in batches) - datetime.timedelta(days=SEASON_DAYS)
    last = max(b.picked_on for b in batches)
    rows = (
        DailyRollup.objects.filter(plot_id__in=plot_ids, day__gte=first, day__lte=last)
        .order_by("plot_id", "metric", "day")
        .values_list("plot_id", "metric", "day", "value_min", "value_max", "value_sum", "samples")
    )
    by_plot: dict[int, dict[int, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    for plot_id, metric, day, low, high, total, samples in rows:
        if samples:
            by_plot[plot_id][metric].append((day, low, total / samples, high))
    seasons: dict[int, list[SeasonMetric]] = {}
    for batch in batches:
        since = batch.picked_on - datetime.timedelta(days=SEASON_DAYS)
        metrics = []
        plot_days = by_plot.get(batch.plot_id, {}) if batch.plot_id is not None else {}
        for number, days in sorted(plot_days.items()):
            points = [p for p in days if since <= p[0] <= batch.picked_on]
            if not points or number not in BY_NUMBER:
                continue
            metrics.append(
                SeasonMetric(
                    metric=BY_NUMBER[number],
                    low=min(p[1] for p in points),
                    high=max(p[3] for p in points),
                    mean=sum(p[2] for p in points) / len(points),
                    days=len(points),
                    points=points,
                )
            )
        seasons[batch.pk] = metrics
    return seasons
