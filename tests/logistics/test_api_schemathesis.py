"""The partner API against its own OpenAPI document, by schemathesis, in-process (WSGI): requests generated
from the document for every operation (the coverage phase's boundary, missing-field, wrong-type and
wrong-media-type cases, then 25 drawn at random), sent as a partner with legs in every status, must never
get a 5xx, and each answer's status code, content type and body must be the ones the document gives.

The document cannot say which ids exist, nor which times an event may have (after the leg was booked, not
ahead), so most drawn requests would only meet a 404 or a 400. Half of the drawn ids and times are steered
to the scenario's legs and to a minute ago, picked by the drawn value itself: the cases stay reproducible,
and the coverage phase (which ``@schema.given`` would switch off) still runs. The examples of one operation
share its test's transaction: a leg one example rejects or delivers stays so for the next, as for a partner.
"""

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from logistics.models import Leg, LogisticsPartner
from logistics.routing import consignment_route, leg_reject
from logistics.services import partner_token_issue
from logistics.tracking import leg_accept, tracking_event_record
from marketplace.wsgi import application
from tests.logistics.conftest import URUMQI, paid_shop_order

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _connection_kept_open():
    """Django's WSGI handler closes the database connection at each request's end when it is in a
    transaction (on PostgreSQL, with CONN_MAX_AGE): that would end the test's own. The test client
    unhooks the same signal handler around its requests; these requests come through WSGI."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def partner_key_and_legs(db, tea, peaches) -> tuple[str, dict[str, int]]:
    """A token of express-national, and its legs by status (plus a first-mile leg of another partner)."""
    express = LogisticsPartner.objects.get(code="express-national")
    statuses = ["assigned", "accepted", "in_progress", "delivered", "rejected"]
    legs = {}
    for status in statuses:
        consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
        legs[status] = consignment.legs.get(kind=Leg.Kind.CARRIER, partner=express).pk
    legs["another_partners"] = consignment.legs.get(kind=Leg.Kind.FIRST_MILE).pk
    # Peaches to Urumqi: chilled, to the far west; in the list, not steered to.
    consignment_route(shop_order_id=paid_shop_order(peaches, address=URUMQI).pk)

    leg_accept(leg_id=legs["accepted"], partner=express)
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    for status, kinds in [("in_progress", ["picked_up"]), ("delivered", ["picked_up", "delivered"])]:
        for kind in kinds:
            tracking_event_record(
                leg=Leg.objects.get(pk=legs[status]), kind=kind, occurred_at=an_hour_ago, idempotency_key=kind
            )
    leg_reject(leg_id=legs["rejected"], partner=express, reason="车辆故障")
    assert {status: Leg.objects.get(pk=legs[status]).status for status in statuses} == {
        status: status for status in statuses
    }
    return partner_token_issue(partner=express, label="schemathesis"), legs


def steer(case, legs: list[int]) -> None:
    """Send an even drawn id as one of ``legs`` (which one, by the id), and a well-formed event time of even
    length as a minute ago; odd ones, and ids or times that are not well formed, go as drawn."""
    drawn_id = (case.path_parameters or {}).get("id")
    if isinstance(drawn_id, str) and drawn_id.isascii() and drawn_id.isdigit():
        drawn_id = int(drawn_id)  # the coverage phase sends path parameters as text
    if isinstance(drawn_id, int) and not isinstance(drawn_id, bool) and drawn_id % 2 == 0:
        case.path_parameters["id"] = legs[drawn_id // 2 % len(legs)]
    drawn_time = case.body.get("occurred_at") if isinstance(case.body, dict) else None
    if isinstance(drawn_time, str) and len(drawn_time) % 2 == 0:
        try:
            well_formed = parse_datetime(drawn_time) is not None
        except ValueError:
            well_formed = False
        if well_formed:
            case.body["occurred_at"] = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,  # nothing written to .hypothesis/ in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_partner_api_answers_as_its_schema_says(case, partner_key_and_legs):
    key, legs = partner_key_and_legs
    steer(case, list(legs.values()))
    case.headers = {**(case.headers or {}), "Authorization": f"Token {key}"}

    case.call_and_validate(checks=CHECKS)
