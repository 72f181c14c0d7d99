"""The sales review page, its chart and exports, as association staff see them: figures, filters, bad
input, and a query count that does not grow with the number of shops."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from shops.sales.facts import sales_facts_rebuild
from tests.factories import ProductFactory, ShopFactory, association_member
from tests.shops.sales.conftest import sale

D = Decimal
MARCH = {"period": "month", "on": "2026-03-01"}


@pytest.fixture
def staff_client(client, db):
    client.force_login(association_member())
    return client


@pytest.fixture
def march(world):
    sale((world.tea, 2), (world.shoots, 1), paid_at="2026-03-05 10:00")
    sale((world.peaches, 1), paid_at="2026-03-31 23:30")
    sale((world.tea, 1), paid_at="2026-02-10 10:00")
    sales_facts_rebuild(since=datetime.date(2026, 2, 1), until=datetime.date(2026, 3, 31))
    return world


def test_staff_see_suichang_shops_for_a_month(staff_client, march):
    response = staff_client.get(reverse("association:sales"), {**MARCH, "county": march.suichang.pk})
    assert response.status_code == 200
    rows = {row.figures.label: row.figures for row in response.context["review"].rows}
    assert set(rows) == {"龙谷茶舍", "独山笋干"}
    assert rows["龙谷茶舍"].gross == D("196.00") + D("10.00")
    body = response.content.decode()
    for testid in (
        "period-kind",
        "period-on",
        "filter-county",
        "total-net-value",
        "sales-row",
        "sales-chart",
    ):
        assert f'data-testid="{testid}' in body
    assert "龙谷茶舍" in body
    assert "¥206.00" in body
    assert reverse("association:sales-chart") in body
    assert 'data-testid="export-csv"' in body


def test_the_chart_is_an_svg_with_the_shop_names_as_text(staff_client, march):
    response = staff_client.get(reverse("association:sales-chart"), MARCH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert "龙谷茶舍" in svg


def test_csv_export_has_the_rows_of_the_table(staff_client, march):
    page = staff_client.get(reverse("association:sales"), MARCH).context["review"]
    response = staff_client.get(reverse("association:sales-export"), {**MARCH, "format": "csv"})
    assert response.status_code == 200
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(page.rows) + 1  # header, the rows, the total
    exported = {row[0]: row for row in rows[1:-1]}
    for row in page.rows:
        line = exported[row.figures.label]
        assert int(line[1]) == row.figures.orders
        assert D(line[3]) == row.figures.gross
        assert D(line[5]) == row.figures.net
    assert D(rows[-1][5]) == page.totals.net


def test_excel_export_opens_and_has_the_same_numbers(staff_client, march):
    page = staff_client.get(reverse("association:sales"), MARCH).context["review"]
    response = staff_client.get(reverse("association:sales-export"), {**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    by_label = {row[0]: row for row in values[1:-1]}
    for row in page.rows:
        assert D(str(by_label[row.figures.label][5])).quantize(D("0.01")) == row.figures.net
    assert D(str(values[-1][3])).quantize(D("0.01")) == page.totals.gross


@pytest.mark.parametrize(
    "bad",
    [
        {"period": "year"},
        {"on": "2026-13-45"},
        {"county": "abc"},
        {"shop": "999999"},
        {"dimension": "buyer"},
        {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"},
        {"period": "custom", "start": "2020-01-01", "end": "2026-01-01"},
        {"on": "0001-01-01"},
    ],
)
def test_bad_filters_fall_back_with_a_message(staff_client, march, bad):
    response = staff_client.get(reverse("association:sales"), bad)
    assert response.status_code == 200
    review = response.context["review"]
    assert review.dimension in ("shop",)
    messages = [str(m) for m in response.context["messages"]]
    if bad != {"on": "0001-01-01"}:  # a date Django accepts, just far off: today's month is shown, quietly
        assert messages, bad
    exported = response.client.get(reverse("association:sales-export"), {**bad, "format": "csv"})
    assert exported.status_code == 200


VIEWS = [
    {"dimension": "shop"},
    {"dimension": "county"},
    {"dimension": "category"},
    {"dimension": "product"},
    {"dimension": "shop", "category": "green_tea"},
    {"dimension": "category", "category": "green_tea"},
]
# The most queries a sales review page may make (session, user and messages included), whatever it shows.
PAGE_BUDGET = 25


def test_query_count_does_not_grow_with_the_shops(staff_client, march, django_assert_max_num_queries):
    def params(view):
        return {**MARCH, **{k: (march.green_tea.pk if v == "green_tea" else v) for k, v in view.items()}}

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for view in VIEWS:
            with CaptureQueriesContext(connection) as captured:
                assert staff_client.get(reverse("association:sales"), params(view)).status_code == 200
            result.append(len(captured.captured_queries))
        return result

    few = counts()
    for n in range(12):
        product = ProductFactory(shop=ShopFactory(county=march.suichang), stock=(D("20.00"), 50))
        product.categories.set([march.green_tea])
        sale((product, 1), paid_at=f"2026-03-{n + 2:02d} 10:00")
        sale((product, 2), paid_at=f"2026-03-{n + 2:02d} 11:00")
    sales_facts_rebuild(since=datetime.date(2026, 3, 1), until=datetime.date(2026, 3, 31))
    assert counts() == few
    for view in VIEWS:
        with django_assert_max_num_queries(PAGE_BUDGET):
            staff_client.get(reverse("association:sales"), params(view))


def test_the_page_reads_facts_not_order_lines(staff_client, march):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        staff_client.get(reverse("association:sales"), {**MARCH, "dimension": "product"})
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "order_line" not in sql
    assert "shops_shoporder" not in sql


def test_the_page_shows_the_largest_rows_and_the_exports_hold_them_all(staff_client, march, monkeypatch):
    from shops.sales import views

    monkeypatch.setattr(views, "PAGE_ROWS", 1)
    by_product = {**MARCH, "dimension": "product"}
    response = staff_client.get(reverse("association:sales"), by_product)
    review = response.context["review"]
    assert len(review.rows) > 1
    assert [row.figures.label for row in response.context["shown_rows"]] == [review.rows[0].figures.label]
    body = response.content.decode()
    assert body.count('data-testid="sales-row"') == 1
    assert 'data-testid="more-rows"' in body
    exported = staff_client.get(reverse("association:sales-export"), {**by_product, "format": "csv"})
    assert (
        len(list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))) == 1 + len(review.rows) + 1
    )


def test_a_chart_is_drawn_once_until_the_facts_change(
    staff_client, march, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shops.sales.facts import sales_facts_refresh

    url = reverse("association:sales-chart")
    with CaptureQueriesContext(connection) as first:
        drawn = staff_client.get(url, MARCH).content
    with CaptureQueriesContext(connection) as again:
        assert staff_client.get(url, MARCH).content == drawn
    assert len(again.captured_queries) < len(first.captured_queries) - 5  # only the sign-in's queries

    sale((march.tea, 3), paid_at="2026-03-20 09:00")
    with django_capture_on_commit_callbacks(execute=True):
        sales_facts_refresh(day=datetime.date(2026, 3, 20))
    redrawn = staff_client.get(url, MARCH).content
    assert redrawn != drawn  # the new sale is in it


def test_the_review_is_planned_without_parallel_workers_and_leaves_the_connection_as_it_was(
    transactional_db, staff_client, march
):
    """On PostgreSQL the review's queries run in a transaction that plans them serially (parallel
    workers started per query cost more than they saved: docs/performance.md); the setting ends with it.
    (Committed data, so the review's transaction is the outermost, as in a request.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.postgres import postgresql_only

    postgresql_only("the setting is PostgreSQL's", "the serial plans test")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        before = cursor.fetchone()[0]
    assert before != "0"  # else the test could not tell
    with CaptureQueriesContext(connection) as captured:
        assert (
            staff_client.get(reverse("association:sales"), {**MARCH, "dimension": "category"}).status_code
            == 200
        )
    sqls = [q["sql"] for q in captured.captured_queries]
    serial = next(i for i, sql in enumerate(sqls) if "max_parallel_workers_per_gather" in sql)
    assert "SET LOCAL max_parallel_workers_per_gather = 0" in sqls[serial]
    assert any("sales_buyersaleschain" in sql for sql in sqls[serial + 1 :])  # the review's own, after it
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == before
