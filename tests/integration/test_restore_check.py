"""`make restore-check` (devtools/restore_check.py): a pg_dump of the database restores into a scratch
database with every table's row count and the last order the same, and the scratch database is dropped;
with ``--wal``, a primary that archives its WAL is killed and deleted after a base backup and more writes,
and a cluster made from the base backup and the archive has everything, the writes after the backup too.

Runs on PostgreSQL (the CI's whole-suite step, with REQUIRE_POSTGRES=1 a missing PostgreSQL fails); on
the embedded SQLite default only the comparison itself is tested."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory, create_order

from devtools.restore_check import LastOrder, Snapshot, main, snapshots_compare
from marketplace.order.shop_orders import shop_orders_create
from tests.factories import ProductFactory, ShopFactory
from tests.postgres import postgresql_only

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def source_url(transactional_db) -> str:
    """The test database as a URL (its rows committed: the dump runs in another process)."""
    postgresql_only("restore-check runs on PostgreSQL (DATABASE_URL=postgres://…)", "restore-check")
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def order_placed() -> object:
    buyer = UserFactory()
    peaches = ProductFactory(shop=ShopFactory(name="桃源果园"), stock=(Decimal("168.00"), 10))
    tea = ProductFactory(title="龙谷丽人茶", shop=ShopFactory(name="龙谷茶舍"), stock=(Decimal("98.00"), 10))
    basket = get_model("basket", "Basket").objects.create(owner=buyer)
    basket.strategy = Default()
    basket.add_product(peaches, 1)
    basket.add_product(tea, 2)
    order = create_order(basket=basket, user=buyer)
    shop_orders_create(order=order)
    return order


def restore_check_run(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "devtools" / "restore_check.py"), "--source-url", url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


def scratch_databases(url: str) -> list[str]:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as check:
        rows = check.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", ["%_restore_check_%"])
        return [row[0] for row in rows.fetchall()]


def test_a_dump_restores_every_table_and_the_last_order(source_url):
    order_placed()
    last = order_placed()
    result = restore_check_run(source_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"orders: 2, last order: {last.number} ¥{last.total_incl_tax} {last.status}" in out
    [identical] = [line for line in out.splitlines() if line.startswith("identical: ")]
    tables, rows = int(identical.split()[1]), int(identical.split()[3])
    assert tables > 100  # every table of the project, not only the order's
    assert rows > 20
    assert scratch_databases(source_url) == []  # the scratch database was dropped


def test_a_database_that_is_not_postgresql_is_refused(capsys, tmp_path):
    assert main(["--source-url", f"sqlite:///{tmp_path / 'db.sqlite3'}"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err


def test_any_difference_in_tables_rows_or_the_last_order_is_reported():
    source = Snapshot(
        {"public.order_order": 2, "public.order_line": 3, "public.outbox": 1},
        LastOrder("100002", "434.00", "Pending"),
    )
    assert snapshots_compare(source, source).identical
    restored = Snapshot(
        {"public.order_order": 2, "public.order_line": 2, "public.extra": 0},
        LastOrder("100002", "434.00", "Paid"),
    )
    comparison = snapshots_compare(source, restored)
    assert not comparison.identical
    assert comparison.differences == [
        "table public.outbox is missing from the restore",
        "table public.extra is only in the restore",
        "public.order_line: 3 rows in the source, 2 restored",
        "last order: 100002 ¥434.00 Pending in the source, 100002 ¥434.00 Paid restored",
    ]


def test_a_lost_database_machine_comes_back_from_the_base_backup_and_the_wal_archive(source_url):
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no PostgreSQL server programs (initdb, pg_ctl) to make clusters of its own")
    last = order_placed()
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "devtools" / "restore_check.py"), "--wal", "--source-url", source_url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # The order written after the base backup exists only in the archived WAL, and came back.
    assert "after the base backup: 5,000 rows and a new last order" in out
    assert f"orders: 2, last order: {last.number}-W ¥{last.total_incl_tax} {last.status}" in out
    assert "primary killed and its data folder deleted" in out
    assert "identical: " in out
