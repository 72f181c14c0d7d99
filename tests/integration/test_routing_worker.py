"""A real Celery worker on Redis routes a paid shop order; killing the worker's process mid-task (the task
is acked late and rejected when its worker is lost) still routes it exactly once when the pool restarts it.

To catch the task mid-flight the test holds the shop order's row lock (routing takes it first), kills the
pool process while it waits on that lock, and lets go once the restarted process waits on it again.
"""

import os
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.db import connection, transaction

from fixtures.loader import logistics_load, regions_load
from logistics.models import Consignment, Leg, PartnerDayLoad
from logistics.tasks import consignment_route_task
from marketplace.order.models import ShopOrder
from marketplace.places.divisions import divisions_load
from tests.factories import ProductFactory
from tests.integration.test_celery_worker import wait_for, worker_run
from tests.logistics.conftest import FIXTURES, paid_shop_order, shop_in

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prefork_worker():
    yield from worker_run(
        pool="prefork", extra_env={"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    )


def pool_children(worker) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False)  # noqa: S603,S607
    return [int(pid) for pid in found.stdout.split()]


def waiting_on_a_lock() -> bool:
    """Whether another session waits on a row lock (the worker's routing, blocked by the test)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is frozen for the transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def activity() -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, datname, state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity"
        )
        return cursor.fetchall()


def test_a_worker_killed_mid_routing_still_routes_the_order_exactly_once(prefork_worker):
    regions_load(rows=yaml.safe_load((FIXTURES / "regions.yaml").read_text(encoding="utf-8")))
    divisions_load()
    logistics_load(rows=yaml.safe_load((FIXTURES / "logistics.yaml").read_text(encoding="utf-8"))["partners"])
    shop = shop_in("浙江省 丽水市 遂昌县 大柘镇 大田村")
    tea = ProductFactory(shop=shop, perishable=False, net_weight_g=250, stock=(Decimal("98"), 10))
    shop_order = paid_shop_order(tea)

    with transaction.atomic():
        ShopOrder.objects.select_for_update().get(pk=shop_order.pk)  # routing waits here
        consignment_route_task.delay(shop_order.pk)
        assert wait_for(waiting_on_a_lock, timeout=60), (
            f"the worker never started the task: {activity()}\n" + "".join(prefork_worker.output)
        )
        [child] = pool_children(prefork_worker)
        os.kill(child, signal.SIGKILL)  # the worker's process dies mid-task
        assert wait_for(lambda: pool_children(prefork_worker) not in ([], [child]), timeout=60)
        # The task was not acked: it comes back to the restarted process, which waits on the lock again.
        assert wait_for(waiting_on_a_lock, timeout=60), "the task was lost:\n" + "".join(
            prefork_worker.output
        )

    assert wait_for(lambda: Consignment.objects.filter(shop_order=shop_order).exists(), timeout=60), (
        "the order was never routed:\n" + "".join(prefork_worker.output)
    )
    assert Consignment.objects.filter(shop_order=shop_order).count() == 1
    consignment = Consignment.objects.get(shop_order=shop_order)
    assert consignment.status == Consignment.Status.ROUTED
    assert Leg.objects.filter(consignment=consignment).count() == 3
    assert sorted(PartnerDayLoad.objects.values_list("booked", flat=True)) == [1, 1, 1]
    assert any("WorkerLostError" in line or "SIGKILL" in line for line in prefork_worker.output)
