"""What the partner API shows of a leg, and what it accepts: a rejection's reason, a tracking event."""

import datetime
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from logistics.models import LEGS_OFF, Leg, TrackingEvent

if TYPE_CHECKING:
    from marketplace.places.models import Region


def _region_label(region: "Region | None") -> str:
    if region is None:
        return ""
    return f"{region.parent.name} {region.name}" if region.parent is not None else region.name


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["id", "kind", "occurred_at", "note", "idempotency_key", "recorded_at"]
        read_only_fields = fields


class RecordedEventSerializer(TrackingEventSerializer):
    leg_status = serializers.ChoiceField(source="leg.status", choices=Leg.Status.choices, read_only=True)

    class Meta(TrackingEventSerializer.Meta):
        fields = [*TrackingEventSerializer.Meta.fields, "leg_status"]
        read_only_fields = fields


class ShopSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    village = serializers.CharField(allow_blank=True)


class DeliveryAddressSerializer(serializers.Serializer):
    recipient = serializers.CharField()
    phone = serializers.CharField()
    province = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    county = serializers.CharField(allow_blank=True)
    street = serializers.CharField(allow_blank=True)


class LegSerializer(serializers.ModelSerializer):
    consignment = serializers.IntegerField(source="consignment_id", read_only=True)
    shop_order_number = serializers.CharField(source="consignment.shop_order.number", read_only=True)
    parcel_weight_g = serializers.SerializerMethodField()
    parcel_count = serializers.IntegerField(
        source="consignment.shop_order.parcel_count", read_only=True, allow_null=True
    )
    cold_chain = serializers.BooleanField(source="consignment.needs_cold_chain", read_only=True)
    origin = serializers.SerializerMethodField()
    destination = serializers.SerializerMethodField()
    shop = serializers.SerializerMethodField()
    delivery_address = serializers.SerializerMethodField()
    events = TrackingEventSerializer(many=True, read_only=True)

    class Meta:
        model = Leg
        fields = [
            "id",
            "consignment",
            "shop_order_number",
            "sequence",
            "kind",
            "status",
            "day",
            "promised_days",
            "cost",
            "parcel_weight_g",
            "parcel_count",
            "cold_chain",
            "origin",
            "destination",
            "shop",
            "delivery_address",
            "reject_reason",
            "events",
        ]
        read_only_fields = fields

    def get_parcel_weight_g(self, leg: Leg) -> int:
        """The weight the shop weighed when packing, else the weight of the goods ordered."""
        return leg.consignment.shop_order.parcel_weight_g or leg.consignment.weight_g

    def get_origin(self, leg: Leg) -> str:
        return _region_label(leg.consignment.origin)

    def get_destination(self, leg: Leg) -> str:
        return _region_label(leg.consignment.destination)

    @extend_schema_field(ShopSerializer)
    def get_shop(self, leg: Leg) -> dict:
        shop = leg.consignment.shop_order.shop
        return {"name": shop.name, "phone": shop.phone, "village": shop.village.name if shop.village else ""}

    @extend_schema_field(DeliveryAddressSerializer(allow_null=True))
    def get_delivery_address(self, leg: Leg) -> dict | None:
        """Only the carrier delivers to the buyer, so only its live leg sees where."""
        if leg.kind != Leg.Kind.CARRIER or leg.status in LEGS_OFF:
            return None
        address = leg.consignment.shop_order.order.shipping_address
        if address is None:
            return None
        return {
            "recipient": address.first_name,
            "phone": str(address.phone_number or ""),
            "province": address.state or "",
            "city": address.line4 or "",
            "county": address.line2 or "",
            "street": address.line1 or "",
        }


class LegRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the partner will not carry this leg.")


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its offset: a time without a zone is ambiguous for partners in other zones."""

    default_error_messages = {
        "naive": _("Give the time zone too, e.g. 2026-05-01T09:30:00+08:00."),
    }

    def to_internal_value(self, value: datetime.datetime | str) -> datetime.datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class TrackingEventCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrackingEvent.Kind.choices)
    occurred_at = AwareDateTimeField(help_text="When it happened, ISO 8601 with the time zone.")
    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="Required for an exception."
    )
    idempotency_key = serializers.CharField(
        max_length=128,
        help_text="Chosen by the partner, unique per event: posting the same key again records nothing new.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == TrackingEvent.Kind.EXCEPTION and not attrs.get("note", "").strip():
            raise serializers.ValidationError({"note": _("Say what went wrong.")})
        return attrs
