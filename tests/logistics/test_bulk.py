"""Routing's bulk inserts (``logistics.bulk.rows_insert``; ``COPY`` on PostgreSQL): the rows stored as given,
each one's keys given back in the order of the rows, the table's sequence left ahead of the keys taken, and
every statement seen by the query budgets (a ``COPY`` bypasses Django's cursor)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from logistics.bulk import rows_insert
from logistics.models import Leg, LogisticsPartner
from logistics.routing import consignment_route
from tests.logistics.conftest import paid_shop_order

pytestmark = pytest.mark.django_db

LEG_NAMES = ["consignment", "sequence", "kind", "partner", "status", "day", "cost", "promised_days"]
LEG_NAMES += ["reject_reason", "overdue_since", "created_at"]


def test_legs_written_in_bulk_are_stored_as_given_and_their_keys_come_back_in_order(tea):
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    partners = list(LogisticsPartner.objects.order_by("-code")[:3])
    now, day = timezone.now(), timezone.localdate()
    rows = [
        (
            consignment.pk,
            10 + n,
            "carrier",
            p.pk,
            "rejected",
            day,
            Decimal("1.25") * n,
            n,
            f"no {n}",
            None,
            now,
        )
        for n, p in enumerate(partners, start=1)
    ]

    with CaptureQueriesContext(connection) as queries:
        made = rows_insert(model=Leg, names=LEG_NAMES, rows=rows, returning=("id", "partner_id"))

    assert [partner_id for _pk, partner_id in made] == [p.pk for p in partners]
    stored = Leg.objects.in_bulk([pk for pk, _partner_id in made])
    assert [
        (stored[pk].partner_id, stored[pk].sequence, stored[pk].cost, stored[pk].reject_reason)
        for pk, _partner_id in made
    ] == [(p.pk, 10 + n, Decimal("1.25") * n, f"no {n}") for n, p in enumerate(partners, start=1)]
    assert all(stored[pk].created_at == now and stored[pk].overdue_since is None for pk, _p in made)
    # One statement, or on PostgreSQL the keys taken from the sequence and the COPY: both counted.
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == (2 if connection.vendor == "postgresql" else 1)
    assert "logistics_leg" in sql[-1]
    # The next leg made by the ORM gets a key of its own (the sequence is past the ones taken).
    later = Leg.objects.create(
        consignment=consignment, sequence=20, kind="carrier", partner=partners[0], day=day
    )
    assert later.pk > max(pk for pk, _partner_id in made)


def test_rows_written_in_bulk_without_keys_wanted_back_are_one_statement(tea):
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    partner = LogisticsPartner.objects.order_by("code").first()
    now, day = timezone.now(), timezone.localdate()
    rows = [
        (consignment.pk, 30 + n, "hub", partner.pk, "assigned", day, Decimal(0), 0, "", None, now)
        for n in range(5)
    ]
    before = Leg.objects.count()

    with CaptureQueriesContext(connection) as queries:
        assert rows_insert(model=Leg, names=LEG_NAMES, rows=rows) == []

    assert len(queries) == 1
    assert Leg.objects.count() == before + 5
    assert sorted(Leg.objects.filter(sequence__gte=30).values_list("sequence", flat=True)) == [
        30,
        31,
        32,
        33,
        34,
    ]
