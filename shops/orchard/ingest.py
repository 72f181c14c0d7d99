"""Orchard sensor readings in: MQTT messages parsed, authenticated, checked and written in one batch.

The format (also in docs/architecture.md, "Orchard sensors"). Topic ``orchard/<device_id>/readings``,
QoS 1. The payload is a JSON envelope whose body is itself a JSON string, so the signature covers the
exact bytes the device sent::

    {"body": "<body as a JSON string>", "sig": "<hex HMAC-SHA256 of the body's UTF-8 bytes, keyed with
                                           the device's secret (UTF-8)>"}
    body = {"device": "<device_id, the topic's>", "plot": <the device's plot id>, "seq": <int>,
            "readings": [{"metric": "air_temp_c", "at": "2026-07-01T04:00:00+08:00", "value": 1.5}, ...]}

``at`` is ISO 8601 with its offset (``Z`` allowed); ``value`` a finite number; ``metric`` a code of
``shops.orchard.metrics.METRICS``. A message is refused whole when it is malformed (topic, envelope, body),
its device is unknown, its signature does not verify with the device's secret (or with the previous one,
for ``ORCHARD_SECRET_GRACE_HOURS`` after a rotation), or its body names another device than its topic or
another plot than the device's ("a device of another shop cannot write to your plot"). A reading is
refused alone when its metric, time or value is malformed, its value is out of the metric's range, it is
older than ``ORCHARD_READINGS_KEEP_DAYS`` or more than ``ORCHARD_CLOCK_SKEW_SECONDS`` ahead of the clock,
or it is a duplicate of one already stored (same device, metric and time: the database drops it).
Refusals are counted per claimed device, reason and day in ``RejectionCount``.

One transaction per batch: the raw rows inserted with ``ON CONFLICT DO NOTHING RETURNING`` (so only the
rows really inserted reach the roll-ups), the hourly and daily roll-ups upserted (sums and counts added,
minimum and maximum kept), the rejection counts, the devices' last-seen time, and the alerts the batch
raises (one per rule and local day; an outbox row ``orchard.alert_raised`` for each about the last day).
"""

import hashlib
import hmac
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from marketplace.outbox.services import outbox_emit
from shops.orchard.metrics import BY_CODE
from shops.orchard.models import Alert, AlertRule, Device, Rejection

TOPIC_PREFIX = "orchard/"
TOPIC_SUFFIX = "/readings"
SUBSCRIPTION = "orchard/+/readings"
ALERT_RAISED = "orchard.alert_raised"
ALERT_NOTICE_HOURS = 24
READINGS_PER_MESSAGE_MAX = 1000
DEVICE_KEY_MAX = 40
AT_LENGTH_MAX = 40  # an ISO 8601 time with microseconds and offset is 32 characters
# Rows per INSERT on SQLite (4 parameters each, under its 32,766-variable limit).
SQLITE_ROWS_PER_STATEMENT = 2000

Message = tuple[str, bytes]


@dataclass
class IngestOutcome:
    """What a batch did: messages seen, readings stored, refusals by reason, alerts raised."""

    messages: int = 0
    readings_stored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    alerts_raised: int = 0

    def add(self, other: "IngestOutcome") -> None:
        self.messages += other.messages
        self.readings_stored += other.readings_stored
        self.rejected.update(other.rejected)
        self.alerts_raised += other.alerts_raised


@dataclass(frozen=True)
class _DeviceRow:
    pk: int
    plot_id: int
    secrets: tuple[bytes, ...]


@dataclass(frozen=True)
class _Row:
    device: int
    plot: int
    metric: int
    at: datetime  # UTC
    value: float


def payload_sign(*, body: dict[str, Any], secret: str) -> bytes:
    """The message a device publishes for ``body`` (the simulator's and the tests' way to sign)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    sig = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"body": text, "sig": sig}, separators=(",", ":")).encode()


def topic_for(device_id: str) -> str:
    return f"{TOPIC_PREFIX}{device_id}{TOPIC_SUFFIX}"


def _device_key(topic: str) -> str | None:
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        return None
    key = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)]
    if not key or "/" in key or len(key) > DEVICE_KEY_MAX:
        return None
    return key


def _claimed_key(topic: str) -> str:
    """What a malformed message is counted under: its topic's device part, as far as there is one."""
    parts = topic.split("/")
    return (parts[1] if len(parts) > 1 else topic)[:DEVICE_KEY_MAX] or "?"


def _envelope(payload: bytes) -> tuple[str, str] | None:
    try:
        envelope = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(envelope, dict):
        return None
    body, sig = envelope.get("body"), envelope.get("sig")
    if not isinstance(body, str) or not isinstance(sig, str):
        return None
    return body, sig


def _devices(keys: Iterable[str], now: datetime) -> dict[str, _DeviceRow]:
    grace = now - timedelta(hours=settings.ORCHARD_SECRET_GRACE_HOURS)
    found = {}
    rows = Device.objects.filter(device_id__in=set(keys)).values_list(
        "pk", "device_id", "plot_id", "secret", "secret_previous", "secret_rotated_at"
    )
    for pk, device_id, plot_id, secret, previous, rotated_at in rows:
        keys_ok = [secret.encode()]
        if previous and rotated_at is not None and rotated_at > grace:
            keys_ok.append(previous.encode())
        found[device_id] = _DeviceRow(pk=pk, plot_id=plot_id, secrets=tuple(keys_ok))
    return found


def _signed(device: _DeviceRow, body: str, sig: str) -> bool:
    message = body.encode()
    return any(
        hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), sig.lower())
        for key in device.secrets
    )


def _at(text: object) -> datetime | None:
    if not isinstance(text, str) or len(text) > AT_LENGTH_MAX:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.astimezone(UTC)


@dataclass
class _Batch:
    """A batch being checked: the rows to store (by key, so a repeat in the batch is a duplicate) and
    the refusals by claimed device and reason."""

    now: datetime
    rows: dict[tuple[int, int, datetime], _Row] = field(default_factory=dict)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.earliest = self.now - timedelta(days=settings.ORCHARD_READINGS_KEEP_DAYS)
        self.latest = self.now + timedelta(seconds=settings.ORCHARD_CLOCK_SKEW_SECONDS)

    def message_check(self, key: str, device: _DeviceRow | None, body_text: str, sig: str) -> None:
        if device is None:
            self.refused[key, Rejection.UNKNOWN_DEVICE] += 1
            return
        if not _signed(device, body_text, sig):
            self.refused[key, Rejection.BAD_SIGNATURE] += 1
            return
        try:
            body = json.loads(body_text)
        except ValueError:
            body = None
        readings = body.get("readings") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or not isinstance(readings, list)
            or len(readings) > READINGS_PER_MESSAGE_MAX
        ):
            self.refused[key, Rejection.MALFORMED] += 1
            return
        plot = body.get("plot")
        if body.get("device") != key or isinstance(plot, bool) or plot != device.plot_id:
            self.refused[key, Rejection.FOREIGN_PLOT] += 1
            return
        for reading in readings:
            reason = self.reading_check(device, reading)
            if reason is not None:
                self.refused[key, reason] += 1

    def reading_check(self, device: _DeviceRow, reading: object) -> str | None:  # noqa: PLR0911  (a reason each)
        """Keep the reading, or say why not."""
        if not isinstance(reading, dict):
            return Rejection.MALFORMED
        code, value = reading.get("metric"), reading.get("value")
        metric = BY_CODE.get(code) if isinstance(code, str) else None
        at = _at(reading.get("at"))
        if (
            metric is None
            or at is None
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return Rejection.MALFORMED
        if not metric.low <= value <= metric.high:
            return Rejection.OUT_OF_RANGE
        if at > self.latest:
            return Rejection.TOO_EARLY
        if at < self.earliest:
            return Rejection.TOO_LATE
        row_key = (device.pk, metric.number, at)
        if row_key in self.rows:
            return Rejection.DUPLICATE
        self.rows[row_key] = _Row(device.pk, device.plot_id, metric.number, at, float(value))
        return None


def readings_ingest(messages: Sequence[Message], *, now: datetime | None = None) -> IngestOutcome:
    """Parse, authenticate and check ``messages`` (topic, payload bytes), then store what is good in one
    transaction. Never raises on a bad message: it is counted and left out."""
    batch = _Batch(now=now or timezone.now())
    parsed: list[tuple[str, str, str]] = []
    for topic, payload in messages:
        key = _device_key(topic)
        envelope = _envelope(payload) if key else None
        if key is None or envelope is None:
            batch.refused[key or _claimed_key(topic), Rejection.MALFORMED] += 1
        else:
            parsed.append((key, *envelope))
    devices = _devices((key for key, _body, _sig in parsed), batch.now) if parsed else {}
    for key, body_text, sig in parsed:
        batch.message_check(key, devices.get(key), body_text, sig)

    outcome = IngestOutcome(messages=len(messages))
    rows = list(batch.rows.values())
    with transaction.atomic():
        stored = _readings_insert(rows) if rows else []
        if len(stored) < len(rows):
            names = {device.pk: key for key, device in devices.items()}
            missing = Counter(row.device for row in rows) - Counter(row.device for row in stored)
            for device_pk, count in missing.items():
                batch.refused[names[device_pk], Rejection.DUPLICATE] += count
        if stored:
            _rollups_add(stored)
            Device.objects.filter(pk__in={row.device for row in stored}).update(last_seen_at=batch.now)
            outcome.alerts_raised = _alerts_raise(stored, now=batch.now)
        if batch.refused:
            _rejections_count(batch.refused, devices, timezone.localdate(batch.now))
    outcome.readings_stored = len(stored)
    for (_key, reason), count in batch.refused.items():
        outcome.rejected[reason] += count
    return outcome


# --- the batch's writes -----------------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _readings_insert(rows: list[_Row]) -> list[_Row]:
    """Insert the rows, dropping those already stored; return the ones inserted."""
    by_key: dict[tuple[int, int, Any], _Row] = {}
    inserted: list[_Row] = []
    with connection.cursor() as cursor:
        if _postgres():
            for row in rows:
                by_key[row.device, row.metric, row.at] = row
            cursor.execute(
                "INSERT INTO orchard_reading (device_id, metric, measured_at, value) "
                "SELECT * FROM unnest(%s::integer[], %s::smallint[], %s::timestamptz[], %s::float8[]) "
                "ON CONFLICT DO NOTHING RETURNING device_id, metric, measured_at",
                [
                    [row.device for row in rows],
                    [row.metric for row in rows],
                    [row.at for row in rows],
                    [row.value for row in rows],
                ],
            )
            inserted = [by_key[device, metric, at] for device, metric, at in cursor.fetchall()]
            return inserted
        adapt = connection.ops.adapt_datetimefield_value
        for start in range(0, len(rows), SQLITE_ROWS_PER_STATEMENT):
            chunk = rows[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                at = str(adapt(row.at))
                by_key[row.device, row.metric, at] = row
                params += [row.device, row.metric, at, row.value]
            cursor.execute(
                "INSERT INTO orchard_reading (device_id, metric, measured_at, value) VALUES "  # noqa: S608
                + ",".join(["(%s,%s,%s,%s)"] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING device_id, metric, measured_at",
                params,
            )
            inserted += [by_key[device, metric, str(at)] for device, metric, at in cursor.fetchall()]
    return inserted


# Pages drawn from the daily roll-ups and kept (a parcel's trace shows its plot's season): each follower is
# told, in the ingest's transaction, the earliest day each plot's roll-ups moved on (daily_rollups_follow).
_daily_followers: list[Callable[[dict[int, date]], object]] = []


def daily_rollups_follow(follower: Callable[[dict[int, date]], object]) -> None:
    """Call ``follower`` with {plot id: earliest day} after every ingest that moves daily roll-ups."""
    _daily_followers.append(follower)


def _rollups_add(rows: list[_Row]) -> None:
    local = timezone.get_default_timezone()
    hours: dict[tuple[int, int, Any], list[float]] = {}
    days: dict[tuple[int, int, Any], list[float]] = {}
    day_of_hour: dict[datetime, date] = {}
    for row in rows:
        hour = row.at.replace(minute=0, second=0, microsecond=0)
        day = day_of_hour.get(hour)
        if day is None:
            day = day_of_hour[hour] = row.at.astimezone(local).date()
        for buckets, bucket in ((hours, hour), (days, day)):
            figures = buckets.get((row.plot, row.metric, bucket))
            if figures is None:
                buckets[row.plot, row.metric, bucket] = [row.value, row.value, row.value, 1]
            else:
                figures[0] = min(figures[0], row.value)
                figures[1] = max(figures[1], row.value)
                figures[2] += row.value
                figures[3] += 1
    _rollup_upsert("orchard_hourlyrollup", "bucket", hours)
    _rollup_upsert("orchard_dailyrollup", "day", days)
    if _daily_followers:
        earliest: dict[int, date] = {}
        for plot, _metric, day in days:
            if plot not in earliest or day < earliest[plot]:
                earliest[plot] = day
        for follower in _daily_followers:
            follower(earliest)


def _rollup_upsert(table: str, bucket_column: str, buckets: dict[tuple[int, int, Any], list[float]]) -> None:
    # Sorted, so two ingesters upserting the same buckets take their row locks in one order.
    items = sorted(buckets.items())
    least, greatest = ("LEAST", "GREATEST") if _postgres() else ("MIN", "MAX")
    conflict = (
        f" ON CONFLICT (plot_id, metric, {bucket_column}) DO UPDATE SET "
        f"value_min = {least}({table}.value_min, excluded.value_min), "
        f"value_max = {greatest}({table}.value_max, excluded.value_max), "
        f"value_sum = {table}.value_sum + excluded.value_sum, "
        f"samples = {table}.samples + excluded.samples"
    )
    columns = (
        f"INSERT INTO {table} (plot_id, metric, {bucket_column}, value_min, value_max, value_sum, samples) "
    )
    with connection.cursor() as cursor:
        if _postgres():
            bucket_type = "timestamptz" if bucket_column == "bucket" else "date"
            unnest = (
                "SELECT * FROM unnest(%s::integer[], %s::smallint[], "  # noqa: S608
                f"%s::{bucket_type}[], %s::float8[], %s::float8[], %s::float8[], %s::integer[])"
            )
            cursor.execute(
                columns + unnest + conflict,  # names and casts are ours; values are parameters
                [[key[i] for key, _f in items] for i in range(3)]
                + [[figures[i] for _k, figures in items] for i in range(4)],
            )
            return
        adapt = (
            connection.ops.adapt_datetimefield_value
            if bucket_column == "bucket"
            else connection.ops.adapt_datefield_value
        )
        per_statement = SQLITE_ROWS_PER_STATEMENT // 2
        for start in range(0, len(items), per_statement):
            chunk = items[start : start + per_statement]
            params: list[Any] = []
            for (plot, metric, bucket), figures in chunk:
                params += [plot, metric, adapt(bucket), *figures]
            cursor.execute(
                columns + "VALUES " + ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * len(chunk)) + conflict, params
            )


def _rejections_count(refused: Counter[tuple[str, str]], devices: dict[str, _DeviceRow], day: date) -> None:
    items = sorted(refused.items())
    params: list[Any] = []
    for (key, reason), count in items:
        device = devices.get(key)
        params += [
            key,
            device.pk if device else None,
            str(reason),
            connection.ops.adapt_datefield_value(day),
            count,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orchard_rejectioncount (device_key, device_id, reason, day, count) VALUES "  # noqa: S608
            + ",".join(["(%s,%s,%s,%s,%s)"] * len(items))
            + " ON CONFLICT (device_key, reason, day) DO UPDATE SET "
            "count = orchard_rejectioncount.count + excluded.count",
            params,
        )


def _alerts_raise(rows: list[_Row], *, now: datetime) -> int:
    """One alert per rule and local day: the batch's worst reading for each rule it breaches, unless the
    rule already has that day's alert. Only an alert about a reading of the last ALERT_NOTICE_HOURS gets
    an outbox row for the farmer's e-mail: a backlog (a device that was offline, a season loaded at once)
    is shown in the console but not mailed about."""
    rules: dict[tuple[int, int], list[AlertRule]] = defaultdict(list)
    for rule in AlertRule.objects.filter(plot_id__in={row.plot for row in rows}):
        rules[rule.plot_id, rule.metric].append(rule)
    if not rules:
        return 0
    local = timezone.get_default_timezone()
    worst: dict[tuple[int, date], tuple[AlertRule, _Row]] = {}
    for row in rows:
        for rule in rules.get((row.plot, row.metric), ()):
            if not rule.breached_by(row.value):
                continue
            key = (rule.pk, row.at.astimezone(local).date())
            seen = worst.get(key)
            if seen is None or (
                row.value < seen[1].value
                if rule.direction == AlertRule.Direction.BELOW
                else row.value > seen[1].value
            ):
                worst[key] = (rule, row)
    if not worst:
        return 0
    raised = set(
        Alert.objects.filter(rule_id__in={k[0] for k in worst}, day__in={k[1] for k in worst}).values_list(
            "rule_id", "day"
        )
    )
    new = [
        Alert(rule=rule, day=day, measured_at=row.at, value=row.value)
        for (rule_id, day), (rule, row) in sorted(worst.items(), key=lambda item: item[0])
        if (rule_id, day) not in raised
    ]
    created = Alert.objects.bulk_create(new, ignore_conflicts=True)
    fresh_since = now - timedelta(hours=ALERT_NOTICE_HOURS)
    for alert in created:
        if alert.measured_at < fresh_since:
            continue
        if alert.pk is None:  # ignore_conflicts hands back no key: find the rows written
            alert.pk = (
                Alert.objects.filter(rule_id=alert.rule_id, day=alert.day)
                .values_list("pk", flat=True)
                .first()
            )
        outbox_emit(topic=ALERT_RAISED, key=f"orchard-alert-{alert.pk}", payload={"alert_id": alert.pk})
    return len(created)
