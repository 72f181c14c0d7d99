"""Reads of the console's orchard pages, each a fixed number of queries whatever the number of plots,
devices, readings or alerts. Charts read the roll-ups, never the raw readings."""

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from shops.orchard.metrics import BY_NUMBER, Metric
from shops.orchard.models import Alert, AlertRule, DailyRollup, Device, HourlyRollup, Plot, RejectionCount

if TYPE_CHECKING:
    from marketplace.partner.models import Partner

CHART_DAYS = (7, 30)
ALERTS_SHOWN = 100
REJECTIONS_DAYS = 7


def console_plots(*, shop: "Partner") -> QuerySet[Plot]:
    return (
        Plot.objects.filter(shop=shop)
        .annotate(
            device_count=Count("devices", distinct=True),
            open_alerts=Count(
                "alert_rules__alerts", filter=Q(alert_rules__alerts__acknowledged_at=None), distinct=True
            ),
        )
        .order_by("name")
    )


def console_plot(*, shop: "Partner", plot_id: int) -> Plot:
    """The shop's plot ``plot_id``; Plot.DoesNotExist for any other."""
    return Plot.objects.get(shop=shop, pk=plot_id)


def console_device(*, shop: "Partner", device_id: int) -> Device:
    return Device.objects.select_related("plot").get(plot__shop=shop, pk=device_id)


def console_rule(*, shop: "Partner", rule_id: int) -> AlertRule:
    return AlertRule.objects.select_related("plot").get(plot__shop=shop, pk=rule_id)


def console_alert(*, shop: "Partner", alert_id: int) -> Alert:
    return Alert.objects.get(rule__plot__shop=shop, pk=alert_id)


@dataclass(frozen=True)
class DeviceRow:
    device: Device
    refused: list[tuple[str, int]]  # (reason label, count) over the last days


def plot_devices(*, plot: Plot) -> list[DeviceRow]:
    devices = list(Device.objects.filter(plot=plot).order_by("device_id"))
    since = timezone.localdate() - datetime.timedelta(days=REJECTIONS_DAYS)
    counts: dict[int, list[tuple[str, int]]] = {}
    rows = (
        RejectionCount.objects.filter(device__plot=plot, day__gte=since)
        .values("device_id", "reason")
        .annotate(total=Sum("count"))
        .order_by("device_id", "reason")
    )
    labels = dict(RejectionCount._meta.get_field("reason").choices or [])
    for row in rows:
        counts.setdefault(row["device_id"], []).append(
            (str(labels.get(row["reason"], row["reason"])), row["total"])
        )
    return [DeviceRow(device=device, refused=counts.get(device.pk, [])) for device in devices]


@dataclass(frozen=True)
class MetricSummary:
    metric: Metric
    low: float
    high: float
    mean: float
    samples: int


def plot_summaries(*, plot: Plot, days: int) -> list[MetricSummary]:
    """Per metric the plot measured in the last ``days`` days: lowest, highest, mean (from daily roll-ups)."""
    since = timezone.localdate() - datetime.timedelta(days=days - 1)
    rows = (
        DailyRollup.objects.filter(plot=plot, day__gte=since)
        .values("metric")
        .annotate(low=Min("value_min"), high=Max("value_max"), total=Sum("value_sum"), samples=Sum("samples"))
        .order_by("metric")
    )
    return [
        MetricSummary(
            metric=BY_NUMBER[row["metric"]],
            low=row["low"],
            high=row["high"],
            mean=row["total"] / row["samples"],
            samples=row["samples"],
        )
        for row in rows
        if row["metric"] in BY_NUMBER and row["samples"]
    ]


@dataclass(frozen=True)
class ChartPoint:
    at: datetime.datetime
    low: float
    mean: float
    high: float


def plot_series(*, plot: Plot, metric: Metric, days: int) -> list[ChartPoint]:
    """A chart's points: hourly over 7 days, daily over longer periods (one query on the roll-ups)."""
    local = timezone.get_default_timezone()
    if days <= CHART_DAYS[0]:
        since = timezone.now() - datetime.timedelta(days=days)
        hours = HourlyRollup.objects.filter(plot=plot, metric=metric.number, bucket__gte=since).order_by(
            "bucket"
        )
        return [
            ChartPoint(at=h.bucket.astimezone(local), low=h.value_min, mean=h.mean, high=h.value_max)
            for h in hours
        ]
    first = timezone.localdate() - datetime.timedelta(days=days - 1)
    daily = DailyRollup.objects.filter(plot=plot, metric=metric.number, day__gte=first).order_by("day")
    return [
        ChartPoint(
            at=datetime.datetime.combine(d.day, datetime.time(12), tzinfo=local),
            low=d.value_min,
            mean=d.mean,
            high=d.value_max,
        )
        for d in daily
    ]


def plot_rules(*, plot: Plot) -> list[AlertRule]:
    return list(AlertRule.objects.filter(plot=plot).order_by("metric", "pk"))


def shop_alerts(*, shop: "Partner") -> list[Alert]:
    """The shop's alerts, those not yet acknowledged first, then the newest."""
    return list(
        Alert.objects.filter(rule__plot__shop=shop)
        .select_related("rule__plot")
        .order_by(F("acknowledged_at").desc(nulls_first=True), "-measured_at")[:ALERTS_SHOWN]
    )
