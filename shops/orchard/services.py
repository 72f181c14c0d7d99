"""Writes of the orchard: plots, devices and their secrets, alert rules, acknowledging alerts, and
forgetting raw readings after a season. Readings themselves come in through ``shops.orchard.ingest``."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shops.orchard.metrics import MetricChoice
from shops.orchard.models import Alert, AlertRule, Device, Plot, Reading, RejectionCount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from marketplace.partner.models import Partner


class OrchardError(ValueError):
    """A farmer's orchard action that cannot be done, in words for the farmer."""


@dataclass(frozen=True)
class RulePreset:
    key: str
    name: Any  # a lazy translation
    metric: int
    direction: str
    threshold: float


RULE_PRESETS = (
    RulePreset("frost", gettext_lazy("Frost"), MetricChoice.AIR_TEMP_C, AlertRule.Direction.BELOW, 2.0),
    RulePreset(
        "drought", gettext_lazy("Drought"), MetricChoice.SOIL_MOISTURE_PCT, AlertRule.Direction.BELOW, 15.0
    ),
    RulePreset("heat", gettext_lazy("Heat"), MetricChoice.AIR_TEMP_C, AlertRule.Direction.ABOVE, 35.0),
)
PRESETS_BY_KEY = {preset.key: preset for preset in RULE_PRESETS}


def device_secret_new() -> str:
    return secrets.token_hex(32)


def plot_save(*, shop: "Partner", plot: Plot | None = None, data: dict[str, Any]) -> Plot:
    """Create a plot of ``shop`` or change one of its plots."""
    plot = plot or Plot(shop=shop)
    if plot.shop_id != shop.pk:
        raise OrchardError(_("That plot belongs to another shop."))
    for name, value in data.items():
        setattr(plot, name, value)
    try:
        with transaction.atomic():
            plot.save()
    except IntegrityError:
        raise OrchardError(_("The shop already has a plot of that name.")) from None
    return plot


def device_add(*, plot: Plot, device_id: str, kind: str) -> Device:
    """Register a device on ``plot`` with a new secret (the caller shows it to the farmer once)."""
    try:
        with transaction.atomic():
            return Device.objects.create(
                plot=plot, device_id=device_id, kind=kind, secret=device_secret_new()
            )
    except IntegrityError:
        raise OrchardError(_("A device with that ID is already registered.")) from None


def device_secret_rotate(*, device: Device) -> Device:
    """A new secret for ``device``; the old one still verifies for ORCHARD_SECRET_GRACE_HOURS."""
    device.secret_previous = device.secret
    device.secret = device_secret_new()
    device.secret_rotated_at = timezone.now()
    device.save(update_fields=["secret", "secret_previous", "secret_rotated_at"])
    return device


def alert_rule_add(
    *,
    plot: Plot,
    preset: str = "",
    name: str = "",
    metric: int = 0,
    direction: str = "",
    threshold: float = 0.0,
) -> AlertRule:
    """A rule from a preset (frost, drought, heat) or one of the farmer's own."""
    if preset:
        chosen = PRESETS_BY_KEY.get(preset)
        if chosen is None:
            raise OrchardError(_("Unknown preset."))
        name, metric, direction, threshold = (
            str(chosen.name),
            chosen.metric,
            chosen.direction,
            chosen.threshold,
        )
    if not name:
        raise OrchardError(_("Give the rule a name."))
    return AlertRule.objects.create(
        plot=plot, name=name, metric=metric, direction=direction, threshold=threshold
    )


def alert_rule_delete(*, rule: AlertRule) -> None:
    rule.delete()


def alert_acknowledge(*, alert: Alert, user: "AbstractBaseUser") -> bool:
    """Mark the alert seen; False when it already was (a second tap changes nothing)."""
    changed = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    return bool(changed)


def readings_forget(*, keep_days: int | None = None) -> int:
    """Delete raw readings (and rejection counts) older than ``keep_days`` (default
    ORCHARD_READINGS_KEEP_DAYS); the hourly and daily roll-ups stay. Returns the readings deleted."""
    keep_days = settings.ORCHARD_READINGS_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=keep_days)
    deleted, _by_model = Reading.objects.filter(measured_at__lt=cutoff).delete()
    RejectionCount.objects.filter(day__lt=cutoff.date()).delete()
    return deleted
