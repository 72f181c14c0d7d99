"""The partner API's endpoints. Thin: reads through ``logistics.partner_selectors``, writes through
``logistics.tracking``, ``logistics.routing`` and ``logistics.coldchain``; another partner's leg is 404 for
every method."""

from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from logistics.api.authentication import IsLogisticsPartner, PartnerRateThrottle, PartnerTokenAuthentication
from logistics.api.coldchain_serializers import (
    TemperatureBatchSerializer,
    TemperatureListSerializer,
    TemperatureRecordedSerializer,
)
from logistics.api.schema import ErrorSerializer
from logistics.api.serializers import (
    LegRejectSerializer,
    LegSerializer,
    RecordedEventSerializer,
    TrackingEventCreateSerializer,
)
from logistics.coldchain import ColdChainError, ReadingIn, leg_band, leg_readings_record, reading_problem
from logistics.models import Leg, LegTemperatureReading, LogisticsPartner
from logistics.partner_selectors import partner_leg, partner_leg_readings, partner_legs
from logistics.routing import RoutingError, leg_reject
from logistics.tracking import TrackingError, leg_accept, tracking_event_record

LISTED_STATUSES = [value for value in Leg.Status.values if value != Leg.Status.REJECTED]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class LegPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# The error answers of every operation are documented by PartnerAPISchema (logistics/api/schema.py); these
# are worded for the legs.
CONFLICT = OpenApiResponse(ErrorSerializer, description="The leg's status does not allow this.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such leg of this partner.")


@extend_schema_view(
    list=extend_schema(
        summary="The partner's legs (not the rejected ones), newest day first",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=LISTED_STATUSES,
                many=True,
                description="Only legs in these statuses (repeat the parameter for several).",
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One of the partner's legs", responses={200: LegSerializer, 404: NOT_FOUND}
    ),
)
class LegViewSet(viewsets.ReadOnlyModelViewSet):
    authentication_classes = [PartnerTokenAuthentication]
    permission_classes = [IsLogisticsPartner]
    throttle_classes = [PartnerRateThrottle]
    serializer_class = LegSerializer
    pagination_class = LegPagination
    queryset = Leg.objects.none()  # for the schema; the partner's own legs come from the selectors

    @property
    def partner(self) -> LogisticsPartner:
        return cast(LogisticsPartner, self.request.auth)  # IsLogisticsPartner let only a partner in

    def get_queryset(self) -> QuerySet[Any]:
        statuses = self.request.query_params.getlist("status")
        unknown = [value for value in statuses if value not in LISTED_STATUSES]
        if unknown:
            raise ValidationError(
                {"status": [_("Unknown status “%(status)s”.") % {"status": value} for value in unknown]}
            )
        return partner_legs(partner=self.partner, statuses=statuses)

    def get_object(self) -> Leg:
        try:
            return partner_leg(partner=self.partner, leg_id=int(self.kwargs["pk"]))
        except (Leg.DoesNotExist, ValueError):
            raise Http404 from None

    def _leg_response(self, leg_id: int, code: int = status.HTTP_200_OK) -> Response:
        leg = partner_leg(partner=self.partner, leg_id=leg_id)
        return Response(LegSerializer(leg, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Accept the leg (assigned → accepted; accepting again changes nothing)",
        request=None,
        responses={200: LegSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        leg = self.get_object()
        try:
            leg_accept(leg_id=leg.pk, partner=self.partner)
        except TrackingError as error:
            raise Conflict(str(error)) from None
        return self._leg_response(leg.pk)

    @extend_schema(
        summary="Reject the leg: it goes to the next candidate partner and the shop is told",
        request=LegRejectSerializer,
        responses={
            200: LegSerializer,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        leg = self.get_object()
        payload = LegRejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            leg_reject(leg_id=leg.pk, partner=self.partner, reason=payload.validated_data["reason"])
        except RoutingError as error:
            raise Conflict(str(error)) from None
        return self._leg_response(leg.pk)

    @extend_schema(
        summary="Post a tracking event (201 when new, 200 when the idempotency key was seen before)",
        request=TrackingEventCreateSerializer,
        responses={
            201: RecordedEventSerializer,
            200: RecordedEventSerializer,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        leg = self.get_object()
        payload = TrackingEventCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            event, created = tracking_event_record(leg=leg, **payload.validated_data)
        except TrackingError as error:
            if error.field:
                raise ValidationError({error.field: [str(error)]}) from None
            raise Conflict(str(error)) from None
        return Response(
            RecordedEventSerializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        methods=["GET"],
        summary="The leg's temperature readings, in time order, with the goods' storage band",
        request=None,
        responses={200: TemperatureListSerializer, 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary=(
            "Post temperature readings (1 to 500); a reading seen before (same time and logger) is ignored, "
            "and the first outside the goods' band flags the leg and tells the association"
        ),
        request=TemperatureBatchSerializer,
        responses={201: TemperatureRecordedSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["get", "post"])
    def temperatures(self, request: Request, pk: str | None = None) -> Response:
        leg = self.get_object()
        band = leg_band(leg)
        if request.method == "GET":
            return Response(
                TemperatureListSerializer(
                    {
                        "storage": band.storage,
                        "band_low": band.low,
                        "band_high": band.high,
                        "cold_chain_breach_at": leg.cold_chain_breach_at,
                        "readings": partner_leg_readings(leg=leg),
                    }
                ).data
            )
        payload = TemperatureBatchSerializer(data=request.data)
        if not payload.is_valid():
            raise ValidationError(errors_flat(payload.errors))
        readings = [ReadingIn(**item) for item in payload.validated_data["readings"]]
        problems = [
            f"[{index}] measured_at: {problem}"
            for index, reading in enumerate(readings)
            if (problem := reading_problem(leg=leg, reading=reading))
        ]
        if problems:
            raise ValidationError({"readings": problems})
        try:
            outcome = leg_readings_record(leg=leg, readings=readings, source=LegTemperatureReading.Source.API)
        except ColdChainError as error:
            if error.field:
                raise ValidationError({error.field: [str(error)]}) from None
            raise Conflict(str(error)) from None
        return Response(
            TemperatureRecordedSerializer(
                {
                    "accepted": outcome.accepted,
                    "duplicates": outcome.duplicates,
                    "band": band.label,
                    "cold_chain_breach_at": outcome.breach_at,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


def errors_flat(errors: Any) -> dict[str, list[str]]:  # noqa: ANN401  (DRF's nested errors)
    """A serializer's errors in the documented 400 shape (each field with a list of messages): a batch's
    errors become messages naming the item, ``[3] celsius: …``."""

    def messages(value: Any, prefix: str) -> list[str]:  # noqa: ANN401
        if isinstance(value, dict):  # a field's errors by name, or a batch's by index (DRF 3.15)
            return [
                m
                for name, inner in value.items()
                for m in messages(
                    inner, f"{prefix}[{name}] " if isinstance(name, int) else f"{prefix}{name}: "
                )
            ]
        if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            return [m for index, inner in enumerate(value) for m in messages(inner, f"{prefix}[{index}] ")]
        if isinstance(value, list):
            return [f"{prefix}{item}" for item in value]
        return [f"{prefix}{value}"]

    return {name: messages(value, "") for name, value in errors.items()}


@csrf_exempt  # a POST to a mistyped path is a 404 too, not the CSRF failure page (DRF's views are exempt)
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The API's answer to a path it does not have: JSON, like every other answer of the API."""
    return JsonResponse({"detail": _("Not found.")}, status=404)
