"""What orchard sensors measure: one table of metrics with their code on the wire, their small number in
the database, unit, label and plausible range. A reading outside its range is rejected ("out of range")."""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Metric:
    number: int  # stored in Reading.metric and the roll-ups (a smallint, not the code)
    code: str  # on the wire: {"metric": "air_temp_c", ...}
    label: Promise
    unit: str
    low: float  # plausible range, both ends included
    high: float


METRICS: tuple[Metric, ...] = (
    Metric(1, "air_temp_c", _("Air temperature"), "°C", -40.0, 60.0),
    Metric(2, "air_humidity_pct", _("Air humidity"), "%", 0.0, 100.0),
    Metric(3, "soil_moisture_pct", _("Soil moisture"), "%", 0.0, 100.0),
    Metric(4, "soil_temp_c", _("Soil temperature"), "°C", -30.0, 60.0),
    Metric(5, "rain_mm", _("Rain"), "mm", 0.0, 300.0),
    Metric(6, "light_lux", _("Light"), "lx", 0.0, 200_000.0),
)
BY_CODE: dict[str, Metric] = {m.code: m for m in METRICS}
BY_NUMBER: dict[int, Metric] = {m.number: m for m in METRICS}


class MetricChoice(models.IntegerChoices):
    """The same table as Django choices (forms, admin, the model field)."""

    AIR_TEMP_C = 1, _("Air temperature")
    AIR_HUMIDITY_PCT = 2, _("Air humidity")
    SOIL_MOISTURE_PCT = 3, _("Soil moisture")
    SOIL_TEMP_C = 4, _("Soil temperature")
    RAIN_MM = 5, _("Rain")
    LIGHT_LUX = 6, _("Light")


# What each kind of device measures (the simulator publishes these; ingestion accepts any metric).
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "weather": ("air_temp_c", "air_humidity_pct", "rain_mm", "light_lux"),
    "soil": ("soil_moisture_pct", "soil_temp_c"),
    "combined": (
        "air_temp_c",
        "air_humidity_pct",
        "soil_moisture_pct",
        "soil_temp_c",
        "rain_mm",
        "light_lux",
    ),
}
