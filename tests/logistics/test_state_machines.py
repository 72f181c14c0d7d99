"""The status machines of consignments and legs (``logistics.states``): every allowed move works and
writes one event row, every other move is refused and writes nothing, the partners' accept, reject and
reports record who moved the leg, and no code but the two move functions writes these statuses."""

import ast
import datetime
import inspect
from pathlib import Path

import pytest
from django.db.models.signals import pre_save
from django.test import Client
from django.utils import timezone
from oscar.test.factories import UserFactory
from rest_framework.test import APIClient

from logistics import states
from logistics.models import Consignment, ConsignmentEvent, Leg, LegEvent, LogisticsPartner
from logistics.routing import RE_ROUTING, consignment_route, leg_reject
from logistics.services import partner_token_issue
from logistics.states import (
    CONSIGNMENT_TRANSITIONS,
    LEG_TRANSITIONS,
    StatusMoveError,
    consignment_move,
    leg_move,
)
from logistics.tracking import tracking_event_record
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
C = Consignment.Status
L = Leg.Status


@pytest.fixture
def consignment(tea) -> Consignment:
    """Tea from Suichang to Shanghai: sp-datian → hub-suichang → express-national."""
    return consignment_route(shop_order_id=paid_shop_order(tea).pk)


@pytest.fixture
def first_mile(consignment) -> Leg:
    return consignment.legs.get(kind=Leg.Kind.FIRST_MILE)


def test_every_status_has_a_row_in_its_table():
    assert set(LEG_TRANSITIONS) == set(L.values)
    assert set(CONSIGNMENT_TRANSITIONS) == {"", *C.values}
    for table in (LEG_TRANSITIONS, CONSIGNMENT_TRANSITIONS):
        assert all(to in table and to != "" for targets in table.values() for to in targets)


def test_each_allowed_leg_move_works_and_writes_one_event(first_mile):
    partner = first_mile.partner
    actor = UserFactory()
    for from_status, targets in LEG_TRANSITIONS.items():
        for to_status in targets:
            Leg.objects.filter(pk=first_mile.pk).update(status=from_status, reject_reason="")
            LegEvent.objects.all().delete()
            leg = Leg.objects.get(pk=first_mile.pk)

            event = leg_move(leg=leg, to_status=to_status, actor=actor, partner=partner, reason="why")

            leg.refresh_from_db()
            assert leg.status == to_status, (from_status, to_status)
            assert list(
                LegEvent.objects.values_list("from_status", "to_status", "actor", "partner", "reason")
            ) == [(from_status, to_status, actor.pk, partner.pk, "why")], (from_status, to_status)
            assert event.created_at is not None
            assert leg.reject_reason == ("why" if to_status == L.REJECTED else "")


def test_each_disallowed_leg_move_is_refused_and_writes_nothing(first_mile):
    refused = [(f, t) for f in L.values for t in L.values if t not in LEG_TRANSITIONS[f]]
    assert refused  # (rejected and delivered are final; a leg never goes back to assigned)
    for from_status, to_status in refused:
        Leg.objects.filter(pk=first_mile.pk).update(status=from_status)
        leg = Leg.objects.get(pk=first_mile.pk)

        with pytest.raises(StatusMoveError):
            leg_move(leg=leg, to_status=to_status, reason="why")

        assert Leg.objects.get(pk=first_mile.pk).status == from_status, (from_status, to_status)
        assert not LegEvent.objects.exists(), (from_status, to_status)


def test_the_move_checks_the_row_not_a_stale_copy(first_mile):
    stale = Leg.objects.get(pk=first_mile.pk)
    Leg.objects.filter(pk=first_mile.pk).update(status=L.DELIVERED)

    with pytest.raises(StatusMoveError):
        leg_move(leg=stale, to_status=L.ACCEPTED)

    assert Leg.objects.get(pk=first_mile.pk).status == L.DELIVERED


def test_each_allowed_consignment_move_works_and_writes_one_event(consignment):
    actor = UserFactory()
    for from_status, targets in CONSIGNMENT_TRANSITIONS.items():
        if from_status == "":
            continue  # creating one: below
        for to_status in targets:
            Consignment.objects.filter(pk=consignment.pk).update(status=from_status)
            ConsignmentEvent.objects.all().delete()
            moving = Consignment.objects.get(pk=consignment.pk)

            consignment_move(consignment=moving, to_status=to_status, actor=actor, reason="why")

            assert Consignment.objects.get(pk=consignment.pk).status == to_status, (from_status, to_status)
            assert list(
                ConsignmentEvent.objects.values_list("from_status", "to_status", "actor", "reason")
            ) == [(from_status, to_status, actor.pk, "why")], (from_status, to_status)


@pytest.mark.parametrize("to_status", sorted(CONSIGNMENT_TRANSITIONS[""]))
def test_a_consignment_is_created_by_a_move_from_nothing(tea, to_status):
    shop_order = paid_shop_order(tea)
    new = Consignment(shop_order=shop_order, planned_for=timezone.localdate())

    consignment_move(consignment=new, to_status=to_status, reason="first plan")

    assert Consignment.objects.get(shop_order=shop_order).status == to_status
    assert list(new.status_events.values_list("from_status", "to_status", "reason")) == [
        ("", to_status, "first plan")
    ]


def test_creating_a_consignment_delivered_is_refused(tea):
    shop_order = paid_shop_order(tea)

    with pytest.raises(StatusMoveError):
        consignment_move(
            consignment=Consignment(shop_order=shop_order, planned_for=timezone.localdate()),
            to_status=C.DELIVERED,
        )

    assert not Consignment.objects.filter(shop_order=shop_order).exists()
    assert not ConsignmentEvent.objects.exists()


def test_each_disallowed_consignment_move_is_refused_and_writes_nothing(consignment):
    ConsignmentEvent.objects.all().delete()
    refused = [(f, t) for f in C.values for t in C.values if t not in CONSIGNMENT_TRANSITIONS[f]]
    assert refused
    for from_status, to_status in refused:
        Consignment.objects.filter(pk=consignment.pk).update(status=from_status)

        with pytest.raises(StatusMoveError):
            consignment_move(consignment=Consignment.objects.get(pk=consignment.pk), to_status=to_status)

        assert Consignment.objects.get(pk=consignment.pk).status == from_status, (from_status, to_status)
        assert not ConsignmentEvent.objects.exists(), (from_status, to_status)


def test_routing_records_the_consignments_creation(consignment):
    assert list(consignment.status_events.values_list("from_status", "to_status", "reason")) == [
        ("", C.ROUTED, "routing")
    ]


def test_accepting_through_the_api_records_the_partner(first_mile):
    partner = LogisticsPartner.objects.get(code="sp-datian")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {partner_token_issue(partner=partner, label='test')}")

    assert client.post(f"/api/logistics/legs/{first_mile.pk}/accept/").status_code == 200
    assert client.post(f"/api/logistics/legs/{first_mile.pk}/accept/").status_code == 200  # again: no move

    assert list(first_mile.status_events.values_list("from_status", "to_status", "partner", "actor")) == [
        (L.ASSIGNED, L.ACCEPTED, partner.pk, None)
    ]


def test_accepting_in_the_portal_records_the_partner_and_the_user(first_mile):
    partner = LogisticsPartner.objects.get(code="sp-datian")
    user = UserFactory()
    partner.users.add(user)
    client = Client()
    client.force_login(user)

    response = client.post(f"/logistics/legs/{first_mile.pk}/accept/")

    assert response.status_code == 302
    assert list(first_mile.status_events.values_list("from_status", "to_status", "partner", "actor")) == [
        (L.ASSIGNED, L.ACCEPTED, partner.pk, user.pk)
    ]


def test_reports_move_the_leg_and_record_the_report(first_mile):
    occurred = timezone.now() - datetime.timedelta(minutes=5)
    tracking_event_record(leg=first_mile, kind="picked_up", occurred_at=occurred, idempotency_key="a")
    tracking_event_record(
        leg=first_mile, kind="departed", occurred_at=occurred, idempotency_key="b"
    )  # no move
    tracking_event_record(leg=first_mile, kind="delivered", occurred_at=occurred, idempotency_key="c")

    assert list(first_mile.status_events.values_list("from_status", "to_status", "partner")) == [
        (L.ASSIGNED, L.IN_PROGRESS, first_mile.partner_id),
        (L.IN_PROGRESS, L.DELIVERED, first_mile.partner_id),
    ]


def test_every_leg_delivered_records_the_consignment_delivered(consignment):
    occurred = timezone.now() - datetime.timedelta(minutes=5)
    for leg in consignment.legs.order_by("sequence"):
        tracking_event_record(leg=leg, kind="delivered", occurred_at=occurred, idempotency_key=f"d{leg.pk}")

    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    assert list(
        consignment.status_events.order_by("pk").values_list("from_status", "to_status", "partner")
    ) == [("", C.ROUTED, None), (C.ROUTED, C.DELIVERED, carrier.partner_id)]


def test_a_rejection_no_one_else_can_take_records_every_leg_set_aside(consignment):
    """Both carriers refuse: the consignment needs routing, each live leg is set aside with an event."""
    user = UserFactory()
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    leg_reject(leg_id=carrier.pk, partner=carrier.partner, reason="车辆故障", actor=user)
    second = consignment.legs.get(kind=Leg.Kind.CARRIER, status=L.ASSIGNED)

    result = leg_reject(leg_id=second.pk, partner=second.partner, reason="满了")

    assert result.status == C.NEEDS_ROUTING
    assert list(carrier.status_events.values_list("to_status", "actor", "reason")) == [
        (L.REJECTED, user.pk, "车辆故障")
    ]
    set_aside = LegEvent.objects.filter(reason=RE_ROUTING)
    assert sorted(set_aside.values_list("leg__kind", flat=True)) == [Leg.Kind.FIRST_MILE, Leg.Kind.HUB]
    assert all(event.partner_id == second.partner_id for event in set_aside)
    assert list(result.status_events.values_list("from_status", "to_status", "partner")) == [
        ("", C.ROUTED, None),
        (C.ROUTED, C.NEEDS_ROUTING, second.partner_id),
    ]


# --- nothing else writes these statuses ------------------------------------------------------------

SOURCE_DIRS = ["logistics", "marketplace", "shops", "fixtures", "bench"]
OWNER = ROOT / "logistics" / "states.py"


def _source_files():
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts and path != OWNER:
                yield path


def _status_writes(tree: ast.AST) -> list[str]:
    """Writes of a leg's or a consignment's status: ``<leg or consignment>.status = …`` (also in a tuple),
    ``Leg/Consignment/….legs`` querysets ``.update(status=…)``, and ``Leg(…, status=…)`` or
    ``Consignment.objects.create(status=…)``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(element, ast.Attribute) and element.attr == "status":
                        owner = ast.unparse(element.value).lower()
                        if "leg" in owner or "consignment" in owner or owner == "other":
                            found.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and any(k.arg == "status" for k in node.keywords):
            callee = ast.unparse(node.func)
            writes = callee.endswith((".update", ".create", ".get_or_create", ".update_or_create"))
            on_ours = "Leg" in callee or "Consignment" in callee or "legs" in callee
            if (writes or callee in ("Leg", "Consignment")) and on_ours:
                found.append(ast.unparse(node))
    return found


def test_the_check_finds_a_status_write():
    sample = (
        "leg.status = Leg.Status.ACCEPTED\n"
        "leg.status, leg.reject_reason = 'rejected', ''\n"
        "Leg.objects.filter(pk=1).update(status='rejected')\n"
        "consignment.legs.filter(pk=1).update(status='rejected')\n"
        "Consignment(shop_order=s, status='routed')\n"
    )
    assert len(_status_writes(ast.parse(sample))) == 5
    assert _status_writes(ast.parse("Leg.objects.filter(status='rejected')\nshop_order.status = 'x'\n")) == []


def test_no_code_but_the_move_functions_writes_a_leg_or_consignment_status():
    offenders = {
        str(path.relative_to(ROOT)): writes
        for path in _source_files()
        if (writes := _status_writes(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}


@pytest.fixture
def status_saves_watched():
    """Fail any save that changes a leg's or a consignment's status outside the move functions."""
    offences: list[str] = []

    def watch(sender, instance, update_fields=None, **kwargs):
        if instance.pk is None or (update_fields is not None and "status" not in update_fields):
            return
        stored = sender.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
        if stored != instance.status and not any(
            frame.function in ("leg_move", "consignment_move") and frame.filename == states.__file__
            for frame in inspect.stack()
        ):
            offences.append(f"{sender.__name__} {instance.pk}: {stored} → {instance.status}")

    for model in (Leg, Consignment):
        pre_save.connect(watch, sender=model, dispatch_uid=f"watch-{model.__name__}")
    yield offences
    for model in (Leg, Consignment):
        pre_save.disconnect(sender=model, dispatch_uid=f"watch-{model.__name__}")


def test_the_flows_change_statuses_only_through_the_move_functions(tea, status_saves_watched):
    occurred = timezone.now() - datetime.timedelta(minutes=5)
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    carrier = consignment.legs.get(kind=Leg.Kind.CARRIER)
    leg_reject(leg_id=carrier.pk, partner=carrier.partner, reason="车辆故障")
    for leg in consignment.legs.exclude(status=L.REJECTED).order_by("sequence"):
        tracking_event_record(leg=leg, kind="delivered", occurred_at=occurred, idempotency_key=f"d{leg.pk}")
    stuck = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    for leg in stuck.legs.filter(kind=Leg.Kind.CARRIER, status=L.ASSIGNED):
        leg_reject(leg_id=leg.pk, partner=leg.partner, reason="满了")
    leg = stuck.legs.filter(kind=Leg.Kind.CARRIER, status=L.ASSIGNED).first()
    if leg is not None:
        leg_reject(leg_id=leg.pk, partner=leg.partner, reason="满了")
    consignment_route(shop_order_id=stuck.shop_order_id)

    assert Consignment.objects.get(pk=consignment.pk).status == C.DELIVERED
    assert status_saves_watched == []
    assert LegEvent.objects.exists()
    assert ConsignmentEvent.objects.filter(to_status=C.NEEDS_ROUTING).exists()
