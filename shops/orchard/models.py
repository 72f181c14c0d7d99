"""A shop's orchard plots: where produce grows, what its sensors measure, and the harvest batches picked
from it (a batch links an order line to its plot and picking day; see shops/harvest)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.i18n import pick
from shops.orchard.metrics import BY_NUMBER, MetricChoice

MAX_ALTITUDE_M = 8848  # no orchard is higher than Everest


class Plot(models.Model):
    """A named piece of land a shop grows on (an orchard block, a tea garden terrace, a bamboo hill)."""

    shop = models.ForeignKey(
        "partner.Partner", verbose_name=_("Shop"), on_delete=models.PROTECT, related_name="plots"
    )
    name = models.CharField(_("Name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    village = models.ForeignKey(
        "places.Region",
        verbose_name=_("Village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    crop = models.CharField(_("What grows here"), max_length=64, blank=True)
    area_mu = models.DecimalField(_("Area (mu)"), max_digits=8, decimal_places=2, null=True, blank=True)
    altitude_m = models.PositiveIntegerField(
        _("Altitude (m)"), null=True, blank=True, validators=[MaxValueValidator(MAX_ALTITUDE_M)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shop", "name"]
        verbose_name = _("Orchard plot")
        verbose_name_plural = _("Orchard plots")
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="plot_name_unique_in_shop")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return pick(self.name, self.name_en)


class Device(models.Model):
    """A sensor on a plot that publishes readings over MQTT, signed with its secret (HMAC-SHA256; see
    shops/orchard/ingest.py for the payload). The secret is kept as is because verifying a signature needs
    it; the farmer sees it once, when the device is added or its secret rotated. After a rotation the
    previous secret still verifies for ``ORCHARD_SECRET_GRACE_HOURS``, so readings the device buffered
    before it was given the new one are not lost."""

    class Kind(models.TextChoices):
        WEATHER = "weather", _("Weather station (air, rain, light)")
        SOIL = "soil", _("Soil probe (moisture, temperature)")
        COMBINED = "combined", _("Combined station")

    plot = models.ForeignKey(Plot, verbose_name=_("Plot"), on_delete=models.PROTECT, related_name="devices")
    device_id = models.CharField(_("Device ID"), max_length=40, unique=True)
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, default=Kind.COMBINED)
    secret = models.CharField(max_length=64)
    secret_previous = models.CharField(max_length=64, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(_("Last reading received"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plot", "device_id"]
        verbose_name = _("Sensor device")
        verbose_name_plural = _("Sensor devices")

    def __str__(self) -> str:
        return self.device_id


class Reading(models.Model):
    """One measurement, kept raw for ``ORCHARD_READINGS_KEEP_DAYS`` (a season and a bit). Compact: no id
    column (the key is device, metric, time: a duplicate is dropped by the database), the metric a
    smallint, the value a float. Charts read the roll-ups, not these rows; on PostgreSQL a BRIN index on
    the time serves the retention delete (rows arrive roughly in time order)."""

    pk = models.CompositePrimaryKey("device", "metric", "measured_at")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.PositiveSmallIntegerField(choices=MetricChoice.choices)
    measured_at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        verbose_name = _("Sensor reading")
        verbose_name_plural = _("Sensor readings")

    def __str__(self) -> str:
        return f"{self.device_id} {self.metric} {self.measured_at:%Y-%m-%d %H:%M} {self.value}"


class Rollup(models.Model):
    """Minimum, maximum, sum and count of a plot's readings of one metric in one bucket (all its devices
    together), added to in the same transaction as the raw rows; kept after the raw rows are gone."""

    plot = models.ForeignKey(Plot, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.PositiveSmallIntegerField(choices=MetricChoice.choices)
    value_min = models.FloatField()
    value_max = models.FloatField()
    value_sum = models.FloatField()
    samples = models.PositiveIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.plot_id} {self.metric} {self.samples}"

    @property
    def mean(self) -> float:
        return self.value_sum / self.samples if self.samples else 0.0


class HourlyRollup(Rollup):
    bucket = models.DateTimeField()  # the hour's start

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plot", "metric", "bucket"], name="orchard_hourly_bucket_unique")
        ]


class DailyRollup(Rollup):
    day = models.DateField()  # in the site's time zone (Asia/Shanghai)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plot", "metric", "day"], name="orchard_daily_day_unique")
        ]


class Rejection(models.TextChoices):
    MALFORMED = "malformed", _("Malformed")
    BAD_SIGNATURE = "bad_signature", _("Bad signature")
    UNKNOWN_DEVICE = "unknown_device", _("Unknown device")
    FOREIGN_PLOT = "foreign_plot", _("Another plot or device")
    OUT_OF_RANGE = "out_of_range", _("Out of range")
    DUPLICATE = "duplicate", _("Duplicate")
    TOO_LATE = "too_late", _("Too old")
    TOO_EARLY = "too_early", _("In the future")


class RejectionCount(models.Model):
    """How many messages (malformed, bad signature, unknown device, foreign plot) or readings (the
    others) from one claimed device were refused for one reason on one day. ``device_key`` is the id the
    message claimed (its topic's), so unknown devices are counted too; ``device`` is set when it exists."""

    device_key = models.CharField(max_length=40)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections"
    )
    reason = models.CharField(max_length=16, choices=Rejection.choices)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device_key", "reason", "day"], name="orchard_rejection_unique")
        ]

    def __str__(self) -> str:
        return f"{self.device_key} {self.reason} {self.day}: {self.count}"


class AlertRule(models.Model):
    """Tell the farmer when a plot's metric goes below or above a threshold (frost: air temperature below
    2 °C; drought: soil moisture below 15 %)."""

    class Direction(models.TextChoices):
        BELOW = "below", _("below")
        ABOVE = "above", _("above")

    plot = models.ForeignKey(
        Plot, verbose_name=_("Plot"), on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(_("Name"), max_length=40)
    metric = models.PositiveSmallIntegerField(_("Measurement"), choices=MetricChoice.choices)
    direction = models.CharField(_("When"), max_length=5, choices=Direction.choices)
    threshold = models.FloatField(_("Threshold"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plot", "metric", "pk"]
        verbose_name = _("Alert rule")
        verbose_name_plural = _("Alert rules")

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self) -> str:
        return BY_NUMBER[self.metric].unit

    def breached_by(self, value: float) -> bool:
        return value < self.threshold if self.direction == self.Direction.BELOW else value > self.threshold


class Alert(models.Model):
    """A rule's threshold crossed: one per rule and local day, holding the day's worst reading seen when
    it was raised. Raising one writes an outbox row (topic ``orchard.alert_raised``) for the notice."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    day = models.DateField()
    measured_at = models.DateTimeField()
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-measured_at"]
        constraints = [models.UniqueConstraint(fields=["rule", "day"], name="orchard_alert_rule_day_unique")]

    def __str__(self) -> str:
        return f"{self.rule} {self.measured_at:%Y-%m-%d %H:%M} {self.value}"
