"""What the partner API takes and shows of a leg's temperatures: a batch of readings, each checked with the
rules of ``logistics.coldchain`` and named by its index when refused."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from logistics.api.serializers import AwareDateTimeField
from logistics.coldchain import MAX_READINGS, PLAUSIBLE_HIGH, PLAUSIBLE_LOW
from logistics.models import LegTemperatureReading


class TemperatureReadingSerializer(serializers.ModelSerializer):
    celsius = serializers.DecimalField(max_digits=4, decimal_places=1, coerce_to_string=False, read_only=True)

    class Meta:
        model = LegTemperatureReading
        fields = ["measured_at", "celsius", "source", "logger_id", "recorded_at"]
        read_only_fields = fields


class TemperatureReadingInSerializer(serializers.Serializer):
    measured_at = AwareDateTimeField(help_text="When it was measured, ISO 8601 with the time zone.")
    celsius = serializers.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=PLAUSIBLE_LOW,
        max_value=PLAUSIBLE_HIGH,
        coerce_to_string=False,
        help_text="Degrees Celsius, one decimal place, −40 to 60.",
    )
    logger_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="The logger that measured it."
    )


class TemperatureBatchSerializer(serializers.Serializer):
    readings = TemperatureReadingInSerializer(
        many=True, allow_empty=False, help_text=f"1 to {MAX_READINGS} readings."
    )

    def validate_readings(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > MAX_READINGS:
            raise serializers.ValidationError(
                _("At most %(max)d readings at a time.") % {"max": MAX_READINGS}
            )
        return value


class TemperatureRecordedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="New readings recorded.")
    duplicates = serializers.IntegerField(
        help_text="Readings recorded before (same time and logger): ignored."
    )
    band = serializers.CharField(help_text="The goods' storage band, e.g. “0 … 8 °C”.")
    cold_chain_breach_at = serializers.DateTimeField(
        allow_null=True, help_text="The first reading outside the band, if any: the leg is flagged."
    )


class TemperatureListSerializer(serializers.Serializer):
    storage = serializers.CharField(
        help_text="ambient, chilled or frozen: the strictest of the parcel's goods."
    )
    band_low = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=False
    )
    band_high = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=False
    )
    cold_chain_breach_at = serializers.DateTimeField(allow_null=True)
    readings = TemperatureReadingSerializer(many=True)
