"""The partners' REST API: token authentication (token guessing throttled per address), every lookup
within the token's partner, accepting, rejecting (re-routed), posting tracking events (idempotent, malformed
input named), a flat query count for the list, and a valid OpenAPI schema that documents every error answer,
each of them JSON in the documented shape."""

import datetime
import io

import jsonschema
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from logistics.api.authentication import FailedAuthenticationThrottle, PartnerRateThrottle
from logistics.models import Consignment, Leg, LogisticsPartner, PartnerToken, TrackingEvent
from logistics.routing import consignment_route
from logistics.services import partner_token_issue, partner_token_revoke
from marketplace.order.models import ShopOrder
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db

LEGS = "/api/logistics/legs/"


def client_of(partner_code: str) -> APIClient:
    partner = LogisticsPartner.objects.get(code=partner_code)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {partner_token_issue(partner=partner, label='test')}")
    return client


@pytest.fixture
def consignment(tea) -> Consignment:
    """Tea from Suichang to Shanghai: sp-datian → hub-suichang → express-national."""
    return consignment_route(shop_order_id=paid_shop_order(tea).pk)


@pytest.fixture
def carrier_leg(consignment) -> Leg:
    return consignment.legs.get(kind=Leg.Kind.CARRIER)


@pytest.fixture
def express(demo_logistics) -> APIClient:
    return client_of("express-national")


def event_body(**overrides) -> dict:
    return {
        "kind": "departed",
        "occurred_at": (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
        "note": "",
        "idempotency_key": "sf-0001-departed",
    } | overrides


# --- authentication -----------------------------------------------------------------------------


def test_no_token_is_401_with_a_challenge(consignment):
    response = APIClient().get(LEGS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_401(consignment):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = client.get(LEGS)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_a_revoked_token_is_401(carrier_leg):
    key = partner_token_issue(partner=carrier_leg.partner, label="old system")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(LEGS).status_code == 200

    partner_token_revoke(
        token_id=PartnerToken.objects.get(digest=PartnerToken.digest_of(key)).pk, partner=carrier_leg.partner
    )

    assert client.get(LEGS).status_code == 401
    assert client.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json").status_code == 401
    assert not TrackingEvent.objects.exists()


def test_the_management_command_issues_a_key_shown_once_that_works(carrier_leg):
    out = io.StringIO()
    call_command(
        "logistics_token_issue", "express-national", "--label", "TMS", stdout=out, stderr=io.StringIO()
    )
    key = out.getvalue().strip()
    token = PartnerToken.objects.get(partner__code="express-national")
    assert token.digest == PartnerToken.digest_of(key)
    assert token.label == "TMS"
    assert key not in token.digest  # only the digest is kept

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert [leg["id"] for leg in client.get(LEGS).json()["results"]] == [carrier_leg.pk]


# --- token guessing -----------------------------------------------------------------------------

GUESSER = "203.0.113.7"


class Clock:
    """The throttle's clock (DRF's ``timer`` hook), moved by hand."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def failures_allowed() -> int:
    return FailedAuthenticationThrottle().num_requests


@pytest.fixture
def express_key(demo_logistics) -> str:
    return partner_token_issue(partner=LogisticsPartner.objects.get(code="express-national"), label="TMS")


def from_address(address: str, key: str | None = None) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_guessing_tokens_is_429_before_any_token_is_looked_up_even_the_right_one(
    carrier_leg, express_key, failures_allowed
):
    for guess in range(failures_allowed):
        assert from_address(GUESSER, f"guess-{guess}").get(LEGS).status_code == 401

    with CaptureQueriesContext(connection) as queries:
        response = from_address(GUESSER, express_key).get(LEGS)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail"}
    assert not [query for query in queries.captured_queries if "partnertoken" in query["sql"]]
    # A forwarded-for header of the client's own making is no new address.
    spoofed = from_address(GUESSER, express_key).get(LEGS, HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert spoofed.status_code == 429
    assert (
        from_address(GUESSER, express_key)
        .post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json")
        .status_code
        == 429
    )
    assert not TrackingEvent.objects.exists()


def test_requests_without_a_token_count_as_failures(consignment, failures_allowed):
    for _ in range(failures_allowed):
        assert from_address(GUESSER).get(LEGS).status_code == 401
    assert from_address(GUESSER).get(LEGS).status_code == 429


def test_an_address_locked_out_leaves_the_others_alone(carrier_leg, express_key, failures_allowed):
    for guess in range(failures_allowed):
        from_address(GUESSER, f"guess-{guess}").get(LEGS)
    assert from_address(GUESSER, express_key).get(LEGS).status_code == 429

    partner = from_address("198.51.100.2", express_key).get(LEGS)
    assert partner.status_code == 200
    assert [leg["id"] for leg in partner.json()["results"]] == [carrier_leg.pk]
    assert from_address("198.51.100.3", "guess-x").get(LEGS).status_code == 401  # its own count


def test_failures_count_for_a_minute_and_a_success_neither_counts_nor_clears_them(
    consignment, express_key, failures_allowed, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(FailedAuthenticationThrottle, "timer", clock)
    for guess in range(failures_allowed - 1):
        assert from_address(GUESSER, f"guess-{guess}").get(LEGS).status_code == 401
        clock.now += 1
    for _ in range(3):
        assert from_address(GUESSER, express_key).get(LEGS).status_code == 200
    assert from_address(GUESSER, "guess-last").get(LEGS).status_code == 401
    locked = from_address(GUESSER, express_key).get(LEGS)
    assert locked.status_code == 429

    clock.now += int(locked["Retry-After"])  # the first failure drops out of the minute

    assert from_address(GUESSER, express_key).get(LEGS).status_code == 200
    assert from_address(GUESSER, "guess-again").get(LEGS).status_code == 401
    assert from_address(GUESSER, express_key).get(LEGS).status_code == 429

    clock.now += 60  # all of them out of the minute

    assert from_address(GUESSER, express_key).get(LEGS).status_code == 200


# --- reading ------------------------------------------------------------------------------------


def test_the_list_has_the_partners_own_legs_with_what_a_carrier_needs(express, carrier_leg):
    response = express.get(LEGS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    leg = body["results"][0]
    assert leg["id"] == carrier_leg.pk
    assert leg["shop_order_number"] == carrier_leg.consignment.shop_order.number
    assert leg["kind"] == "carrier"
    assert leg["status"] == "assigned"
    assert leg["parcel_weight_g"] == 250
    assert leg["cold_chain"] is False
    assert leg["origin"] == "大柘镇 大田村"  # the parcel's journey: the shop's village to the buyer's county
    assert leg["destination"] == "上海市 浦东新区"
    assert leg["delivery_address"] == {
        "recipient": "王小明",
        "phone": "+8613800138000",
        "province": "上海市",
        "city": "上海市",
        "county": "浦东新区",
        "street": "世纪大道 100 号",
    }
    assert leg["events"] == []


def test_only_the_carrier_sees_the_buyers_address(consignment):
    first_mile = consignment.legs.get(kind=Leg.Kind.FIRST_MILE)
    response = client_of(first_mile.partner.code).get(LEGS)
    (leg,) = response.json()["results"]
    assert leg["id"] == first_mile.pk
    assert leg["delivery_address"] is None
    assert "王小明" not in response.content.decode()
    assert leg["shop"]["name"] == "大田茶园"  # where to pick it up


def test_the_list_filters_by_status_and_names_a_bad_one(express, carrier_leg):
    assert express.get(LEGS, {"status": "accepted"}).json()["count"] == 0
    assert express.get(LEGS, {"status": ["assigned", "accepted"]}).json()["count"] == 1
    response = express.get(LEGS, {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_the_list_query_count_does_not_grow_with_the_legs(tea, express, django_assert_max_num_queries):
    consignment_route(shop_order_id=paid_shop_order(tea).pk)
    with CaptureQueriesContext(connection) as one:
        assert express.get(LEGS).json()["count"] == 1

    for _ in range(5):
        consignment_route(shop_order_id=paid_shop_order(tea).pk)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(leg=leg, kind="departed", occurred_at=timezone.now(), idempotency_key=f"k{leg.pk}")
        for leg in Leg.objects.filter(partner__code="express-national")
    )
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = express.get(LEGS).json()
    assert body["count"] == 6
    assert all(len(leg["events"]) == 1 for leg in body["results"])


# --- another partner's legs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "accept/", {}),
        ("post", "reject/", {"reason": "不是我的"}),
        ("post", "events/", event_body()),
    ],
)
def test_another_partners_leg_is_404(carrier_leg, method, suffix, body):
    intruder = client_of("coldchain-east")
    response = getattr(intruder, method)(f"{LEGS}{carrier_leg.pk}/{suffix}", body, format="json")
    assert response.status_code == 404
    carrier_leg.refresh_from_db()
    assert carrier_leg.status == Leg.Status.ASSIGNED
    assert not TrackingEvent.objects.exists()


# --- accepting and rejecting --------------------------------------------------------------------


def test_accepting_a_leg(express, carrier_leg):
    response = express.post(f"{LEGS}{carrier_leg.pk}/accept/")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    carrier_leg.refresh_from_db()
    assert carrier_leg.status == Leg.Status.ACCEPTED


def test_a_leg_on_its_way_cannot_be_accepted_or_rejected(express, carrier_leg):
    express.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json")
    assert express.post(f"{LEGS}{carrier_leg.pk}/accept/").status_code == 409
    assert (
        express.post(f"{LEGS}{carrier_leg.pk}/reject/", {"reason": "晚了"}, format="json").status_code == 409
    )
    carrier_leg.refresh_from_db()
    assert carrier_leg.status == Leg.Status.IN_PROGRESS


def test_rejecting_through_the_api_re_routes_to_the_next_candidate(express, carrier_leg):
    assert express.post(f"{LEGS}{carrier_leg.pk}/reject/", {}, format="json").status_code == 400  # no reason

    response = express.post(f"{LEGS}{carrier_leg.pk}/reject/", {"reason": "车辆故障"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["delivery_address"] is None  # no longer theirs to deliver
    replacement = Leg.objects.get(consignment=carrier_leg.consignment, kind="carrier", status="assigned")
    assert replacement.partner.code == "coldchain-east"
    assert express.get(LEGS).json()["count"] == 0
    assert client_of("coldchain-east").get(LEGS).json()["results"][0]["id"] == replacement.pk
    # A rejected leg takes no events.
    assert express.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json").status_code == 409


# --- tracking events ----------------------------------------------------------------------------


def test_the_same_event_posted_twice_is_one_event(express, carrier_leg):
    first = express.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json")
    again = express.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["leg_status"] == "in_progress"
    assert TrackingEvent.objects.filter(leg=carrier_leg).count() == 1
    assert ShopOrder.objects.get(pk=carrier_leg.consignment.shop_order_id).status == "in_transit"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "teleported"}, "kind"),
        ({"idempotency_key": None}, "idempotency_key"),
        ({"occurred_at": "yesterday afternoon"}, "occurred_at"),
        ({"occurred_at": "2026-05-01T09:30:00"}, "occurred_at"),  # no time zone
        ({"occurred_at": (timezone.now() + datetime.timedelta(days=2)).isoformat()}, "occurred_at"),
        ({"kind": "exception", "note": ""}, "note"),
    ],
)
def test_a_malformed_event_is_400_naming_the_field(express, carrier_leg, overrides, field):
    body = {k: v for k, v in event_body(**overrides).items() if v is not None}
    response = express.post(f"{LEGS}{carrier_leg.pk}/events/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not TrackingEvent.objects.exists()


def test_delivered_then_an_earlier_departed_keeps_the_leg_delivered(express, carrier_leg):
    now = timezone.now()
    express.post(
        f"{LEGS}{carrier_leg.pk}/events/",
        event_body(kind="delivered", occurred_at=now.isoformat(), idempotency_key="d"),
        format="json",
    )
    late = express.post(
        f"{LEGS}{carrier_leg.pk}/events/",
        event_body(
            kind="departed", occurred_at=(now - datetime.timedelta(hours=8)).isoformat(), idempotency_key="e"
        ),
        format="json",
    )
    assert late.status_code == 201
    assert late.json()["leg_status"] == "delivered"
    leg = express.get(f"{LEGS}{carrier_leg.pk}/").json()
    assert leg["status"] == "delivered"
    assert [e["kind"] for e in leg["events"]] == ["departed", "delivered"]


def test_every_leg_delivered_over_the_api_delivers_the_order(consignment):
    hour = datetime.timedelta(hours=1)
    start = timezone.now() - 10 * hour
    for index, leg in enumerate(consignment.legs.order_by("sequence")):
        client = client_of(leg.partner.code)
        for step, kind in enumerate(["picked_up", "delivered"]):
            response = client.post(
                f"{LEGS}{leg.pk}/events/",
                event_body(
                    kind=kind,
                    occurred_at=(start + (2 * index + step) * hour).isoformat(),
                    idempotency_key=kind,
                ),
                format="json",
            )
            assert response.status_code == 201

    consignment.refresh_from_db()
    assert consignment.status == Consignment.Status.DELIVERED
    assert consignment.shop_order.status == ShopOrder.Status.DELIVERED


# --- schema -------------------------------------------------------------------------------------


def test_the_openapi_schema_is_valid_and_describes_the_partner_api(client):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["info"]["title"] == "Xiangwei Market logistics API"
    assert {
        "/api/logistics/legs/",
        "/api/logistics/legs/{id}/",
        "/api/logistics/legs/{id}/accept/",
        "/api/logistics/legs/{id}/reject/",
        "/api/logistics/legs/{id}/events/",
    } <= set(schema["paths"])
    assert "partnerToken" in schema["components"]["securitySchemes"]

    served = client.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert served.json()["info"]["title"] == "Xiangwei Market logistics API"


DETAIL = "/api/logistics/legs/{id}/"
ACCEPT = "/api/logistics/legs/{id}/accept/"
REJECT = "/api/logistics/legs/{id}/reject/"
EVENTS = "/api/logistics/legs/{id}/events/"
TEMPERATURES = "/api/logistics/legs/{id}/temperatures/"
DOCUMENTED_ERRORS = {
    ("get", LEGS): {"400", "401", "404", "406", "429"},
    ("get", DETAIL): {"401", "404", "406", "429"},
    ("post", ACCEPT): {"401", "404", "406", "409", "429"},
    ("post", REJECT): {"400", "401", "404", "406", "409", "415", "429"},
    ("post", EVENTS): {"400", "401", "404", "406", "409", "415", "429"},
    ("get", TEMPERATURES): {"401", "404", "406", "429"},
    ("post", TEMPERATURES): {"400", "401", "404", "406", "409", "415", "429"},
}


@pytest.fixture
def openapi(client) -> dict:
    """The document as the API serves it."""
    return client.get("/api/schema/", {"format": "json"}).json()


def test_every_operation_documents_each_error_it_can_answer_with_its_json_body(openapi):
    operations = {
        (method, path): operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == set(DOCUMENTED_ERRORS)
    for key, operation in operations.items():
        errors = {code: answer for code, answer in operation["responses"].items() if code >= "400"}
        assert set(errors) == DOCUMENTED_ERRORS[key], key
        for code, answer in errors.items():
            body = "FieldErrors" if code == "400" else "Error"
            assert answer["content"] == {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}
            }, (key, code)
            assert answer["description"]
        assert errors["401"]["headers"]["WWW-Authenticate"]["required"] is True
        assert errors["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    error = openapi["components"]["schemas"]["Error"]
    assert (error["properties"], error["required"]) == ({"detail": {"type": "string"}}, ["detail"])


def documented_answer(openapi: dict, method: str, path: str | None, status: int) -> tuple[dict, list[str]]:
    """The JSON schema of the body the document gives for that answer of that operation, and the headers it
    says always come with it (a KeyError when it gives no such answer); for an answer outside any operation
    (a path or a method the API does not have), the Error body."""
    schemas = openapi["components"]["schemas"]
    if path is None:
        return schemas["Error"], []
    answer = openapi["paths"][path][method]["responses"][str(status)]
    body = schemas[answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    return body, [name for name, header in answer.get("headers", {}).items() if header["required"]]


def at(path: str, leg: Leg) -> str:
    return path.format(id=leg.pk)


def malformed_json(express, leg, monkeypatch):
    return express.generic("POST", at(EVENTS, leg), b'{"kind": "departed",', content_type="application/json")


def a_list_for_a_body(express, leg, monkeypatch):
    return express.post(at(EVENTS, leg), [event_body()], format="json")


def no_reason(express, leg, monkeypatch):
    return express.post(at(REJECT, leg), {}, format="json")


def unknown_status(express, leg, monkeypatch):
    return express.get(LEGS, {"status": "lost"})


def no_token(express, leg, monkeypatch):
    return APIClient().get(at(DETAIL, leg))


def wrong_token(express, leg, monkeypatch):
    return from_address("127.0.0.1", "not-a-real-key").post(at(ACCEPT, leg))


def header_in_three_parts(express, leg, monkeypatch):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two parts")
    return client.get(LEGS)


def another_partners_leg(express, leg, monkeypatch):
    return client_of("coldchain-east").post(at(REJECT, leg), {"reason": "不是我的"}, format="json")


def page_past_the_end(express, leg, monkeypatch):
    return express.get(LEGS, {"page": 9})


def id_not_a_number(express, leg, monkeypatch):
    return express.post(f"{LEGS}1.5/accept/")


def path_not_there(express, leg, monkeypatch):
    return express.delete("/api/logistics/nothing-here/")


def method_not_there(express, leg, monkeypatch):
    return express.delete(at(DETAIL, leg))


def accept_not_json(express, leg, monkeypatch):
    return express.get(LEGS, HTTP_ACCEPT="application/xml")


def leg_delivered(express, leg, monkeypatch):
    express.post(at(EVENTS, leg), event_body(kind="delivered"), format="json")
    return express.post(at(ACCEPT, leg))


def form_encoded(express, leg, monkeypatch):
    return express.post(at(REJECT, leg), "reason=x", content_type="application/x-www-form-urlencoded")


def partner_over_its_rate(express, leg, monkeypatch):
    monkeypatch.setattr(PartnerRateThrottle, "rate", "1/min", raising=False)
    express.get(LEGS)
    return express.get(LEGS)


def too_many_failures(express, leg, monkeypatch):
    for guess in range(FailedAuthenticationThrottle().num_requests):
        from_address(GUESSER, f"guess-{guess}").get(LEGS)
    return from_address(GUESSER, "one-more").post(at(EVENTS, leg), event_body(), format="json")


@pytest.mark.parametrize(
    ("status", "method", "path", "request_made"),
    [
        (400, "post", EVENTS, malformed_json),
        (400, "post", EVENTS, a_list_for_a_body),
        (400, "post", REJECT, no_reason),
        (400, "get", LEGS, unknown_status),
        (401, "get", DETAIL, no_token),
        (401, "post", ACCEPT, wrong_token),
        (401, "get", LEGS, header_in_three_parts),
        (404, "post", REJECT, another_partners_leg),
        (404, "get", LEGS, page_past_the_end),
        (404, "post", None, id_not_a_number),
        (404, "delete", None, path_not_there),
        (405, "delete", None, method_not_there),
        (406, "get", LEGS, accept_not_json),
        (409, "post", ACCEPT, leg_delivered),
        (415, "post", REJECT, form_encoded),
        (429, "get", LEGS, partner_over_its_rate),
        (429, "post", EVENTS, too_many_failures),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_every_error_is_json_as_the_schema_documents_it(
    express, carrier_leg, openapi, monkeypatch, status, method, path, request_made
):
    response = request_made(express, carrier_leg, monkeypatch)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body_schema, headers = documented_answer(openapi, method, path, status)
    jsonschema.validate(response.json(), body_schema)
    if status != 400:
        assert set(response.json()) == {"detail"}
    assert all(response.has_header(name) for name in headers), headers


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    ["0580-06-01T08:00:00+08:00", "2001-01-01T00:00:00+00:00", "9999-12-31T23:59:00+08:00"],
)
def test_an_event_time_before_the_leg_or_far_ahead_is_a_400_naming_the_field(
    express, carrier_leg, occurred_at
):
    response = express.post(
        f"{LEGS}{carrier_leg.pk}/events/", event_body(occurred_at=occurred_at), format="json"
    )

    assert response.status_code == 400
    assert "occurred_at" in response.json()
    assert not TrackingEvent.objects.exists()
    assert express.get(f"{LEGS}{carrier_leg.pk}/").status_code == 200


def test_a_partner_no_longer_working_with_the_market_is_401(express, carrier_leg):
    assert express.get(LEGS).status_code == 200
    LogisticsPartner.objects.filter(code="express-national").update(active=False)

    response = express.get(LEGS)

    assert response.status_code == 401
    assert express.post(f"{LEGS}{carrier_leg.pk}/events/", event_body(), format="json").status_code == 401


@pytest.mark.parametrize("path", ["legs/1.5/", "legs/abc/", "legs/99999999999999999999/", "nothing-here/"])
def test_a_path_or_id_the_api_does_not_have_is_a_json_404(express, carrier_leg, path):
    response = express.get(f"/api/logistics/{path}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_a_server_error_in_the_api_is_json_too(express, carrier_leg, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("logistics.api.views.partner_legs", broken)
    express.raise_request_exception = False

    response = express.get(LEGS)

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert "database" not in response.json()["detail"]  # nothing of the error leaks out
