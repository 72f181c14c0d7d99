"""A plausible season of sensor readings for the demo's plots, as the devices would publish them: a
diurnal temperature cycle on the time of year (cooler with altitude), humidity that follows it, rain
events, soil moisture that dries between rains (a three-week dry spell in the middle of the season: a
drought alert) and a frost night ten days before the end (−2 °C before dawn: a frost alert). Seeded by the
plot, so every run writes the same season and the devices of one plot agree."""

import json
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from shops.orchard.ingest import payload_sign, topic_for
from shops.orchard.metrics import KIND_METRICS
from shops.orchard.models import Device

FROST_DAYS_BEFORE_END = 10
FROST_LOW_C = -2.0
RAIN_CHANCE = 0.25
HOURS_IN_DAY = 24


@dataclass
class _Weather:
    """One plot's weather, stepped an interval at a time."""

    rng: random.Random
    altitude_m: int
    soil_moisture: float = 34.0
    soil_temp: float | None = None
    rain_left_mm: float = 0.0
    rain_hours_left: int = 0

    def step(self, local: datetime, hours: float, *, dry_spell: bool, frost_night: bool) -> dict[str, float]:
        doy = local.timetuple().tm_yday
        hour = local.hour + local.minute / 60
        mean = 16.0 + 12.0 * math.sin(2 * math.pi * (doy - 105) / 365) - self.altitude_m * 0.006
        air = mean + 4.0 * math.sin(2 * math.pi * (hour - 9) / HOURS_IN_DAY) + self.rng.gauss(0, 0.6)
        if frost_night:
            # A clear, still night: the temperature falls to FROST_LOW_C by 05:00.
            depth = max(0.0, 1 - abs(((hour - 5) + 12) % 24 - 12) / 7)
            air = air * (1 - depth) + FROST_LOW_C * depth
        if (
            self.rain_hours_left <= 0
            and not dry_spell
            and self.rng.random() < RAIN_CHANCE * hours / HOURS_IN_DAY
        ):
            self.rain_hours_left = self.rng.randint(2, 8)
            self.rain_left_mm = self.rng.expovariate(1 / 15)
        rain = 0.0
        if self.rain_hours_left > 0:
            rain = round(self.rain_left_mm / self.rain_hours_left, 1)
            self.rain_left_mm -= rain
            self.rain_hours_left -= max(1, round(hours))
            air -= 2.0
        humidity = 96.0 if rain else 88.0 - 3.2 * (air - mean + 5) + self.rng.gauss(0, 2)
        drying = 0.03 * hours * max(air, 0) / 20 * (1.5 if dry_spell else 1.0)
        self.soil_moisture = min(55.0, max(8.0, self.soil_moisture - drying + 0.8 * rain))
        self.soil_temp = (
            air if self.soil_temp is None else self.soil_temp + (air - self.soil_temp) * 0.08 * hours
        )
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 13)) if 6 <= hour <= 19 else 0.0  # noqa: PLR2004
        light = sun * 85_000 * (0.25 if rain else self.rng.uniform(0.6, 1.0))
        return {
            "air_temp_c": round(air, 2),
            "air_humidity_pct": round(min(100.0, max(20.0, humidity)), 1),
            "soil_moisture_pct": round(self.soil_moisture, 1),
            "soil_temp_c": round(self.soil_temp, 2),
            "rain_mm": rain,
            "light_lux": round(light),
        }


def season_messages(
    *, devices: Iterable[Device], days: int, end: datetime | None = None, interval_minutes: int = 60
) -> Iterator[tuple[str, bytes]]:
    """Every device's messages (topic, signed payload) for ``days`` days up to ``end``, one message per
    interval with one reading of each metric its kind measures, in time order."""
    local = timezone.get_default_timezone()
    end = (end or timezone.now()).astimezone(local).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    step = timedelta(minutes=interval_minutes)
    hours = interval_minutes / 60
    frost_day = (end - timedelta(days=FROST_DAYS_BEFORE_END)).date()
    dry_from, dry_to = start + timedelta(days=days * 0.4), start + timedelta(days=days * 0.4 + 21)
    by_plot: dict[int, list[Device]] = {}
    for device in devices:
        by_plot.setdefault(device.plot_id, []).append(device)
    weather = {
        plot_id: _Weather(
            rng=random.Random(plot_id),  # noqa: S311  (weather, not secrets)
            altitude_m=group[0].plot.altitude_m or 0,
        )
        for plot_id, group in by_plot.items()
    }
    seq = 0
    moment = start
    while moment <= end:
        # The frost night runs from the evening before the frost day to its morning.
        frost = moment.date() == frost_day or (moment + timedelta(hours=12)).date() == frost_day
        frost_night = frost and (moment.hour >= 20 or moment.hour < 8)  # noqa: PLR2004
        at = moment.isoformat()
        seq += 1
        for plot_id, group in by_plot.items():
            values = weather[plot_id].step(
                moment, hours, dry_spell=dry_from <= moment < dry_to, frost_night=frost_night
            )
            for device in group:
                body = {
                    "device": device.device_id,
                    "plot": plot_id,
                    "seq": seq,
                    "readings": [
                        {"metric": code, "at": at, "value": values[code]}
                        for code in KIND_METRICS[device.kind]
                    ],
                }
                yield topic_for(device.device_id), payload_sign(body=body, secret=device.secret)
        moment += step


def season_line(topic: str, payload: bytes) -> str:
    """One message of a season file (JSON lines: the topic and the payload as text)."""
    return json.dumps({"topic": topic, "payload": payload.decode()}, ensure_ascii=False)


def season_read(lines: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    for line in lines:
        if line.strip():
            item = json.loads(line)
            yield item["topic"], item["payload"].encode()
