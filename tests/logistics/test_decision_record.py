"""The routing decision record as stored (``Consignment.decisions``, JSON text on PostgreSQL since migration
0006): records of both shapes read back as written and ``decision_reasons`` reads them, and the migration's
change of column type keeps the records written before it."""

import pytest
from django.db import connection, models
from django.utils import timezone

from logistics.models import Consignment
from logistics.routing import consignment_route, decision_reasons
from tests.logistics.conftest import paid_shop_order
from tests.postgres import postgresql_only

pytestmark = pytest.mark.django_db

# A leg as recorded before routing in batches: every candidate an object of its own.
OLD_LEG = {
    "kind": "hub",
    "origin_id": 1,
    "destination_id": 1,
    "candidates": [
        {
            "partner_id": 7,
            "partner": "hub-a",
            "excluded": "",
            "cost": "4.00",
            "days": 1,
            "load": 0.0,
            "score": 9.0,
        },
        {
            "partner_id": 8,
            "partner": "hub-b",
            "excluded": "inactive",
            "cost": "",
            "days": None,
            "load": None,
            "score": None,
        },
    ],
    "chosen": 7,
}
OLD_DECISION = {"at": "2026-11-22T08:00:00+00:00", "by": "routing", "outcome": "routed", "legs": [OLD_LEG]}


def test_a_record_of_the_old_shape_reads_back_as_written_and_its_reasons_are_read(tea):
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    Consignment.objects.filter(pk=consignment.pk).update(decisions=[OLD_DECISION, *consignment.decisions])

    stored = Consignment.objects.get(pk=consignment.pk).decisions

    assert stored[0] == OLD_DECISION
    assert decision_reasons(stored[0]["legs"][0]) == {"hub-a": "", "hub-b": "inactive"}
    assert stored[1:] == consignment.decisions  # the batch's own shape, as it was written
    assert decision_reasons(stored[1]["legs"][-1])  # every candidate of the carrier leg


def test_the_migration_to_json_text_keeps_the_records_written_as_jsonb(tea):
    postgresql_only("the column type changes on PostgreSQL only (SQLite keeps JSON as text)", "this test")
    consignment = consignment_route(shop_order_id=paid_shop_order(tea).pk)
    new_field = Consignment._meta.get_field("decisions")
    old_field = models.JSONField(default=list)
    old_field.set_attributes_from_name("decisions")
    old_field.model = Consignment
    # Given the column as it was before migration 0006 (jsonb; in this test's transaction only), holding
    # records of both shapes… (the foreign keys' deferred checks done first: a table with pending ones
    # cannot be altered)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor(atomic=False) as editor:
        editor.alter_field(Consignment, new_field, old_field)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [Consignment._meta.db_table, "decisions"],
        )
        assert cursor.fetchone() == ("jsonb",)
    records = [OLD_DECISION, *consignment.decisions]
    Consignment.objects.filter(pk=consignment.pk).update(decisions=records, updated_at=timezone.now())

    # …when the migration's operation runs…
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor(atomic=False) as editor:
        editor.alter_field(Consignment, old_field, new_field)

    # …then the column is json and every record reads back as it was.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [Consignment._meta.db_table, "decisions"],
        )
        assert cursor.fetchone() == ("json",)
    assert Consignment.objects.get(pk=consignment.pk).decisions == records
