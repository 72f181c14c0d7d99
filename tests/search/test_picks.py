"""A search's first page is kept (marketplace/search/picks.py): read with its count instead of ranked and
counted, picked again when a product it could list changes, not trusted when it disagrees with the page."""

import datetime
import re
from collections import Counter

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.search import picks
from marketplace.search.indexing import products_index
from marketplace.search.models import SearchPick
from marketplace.search.picks import search_kept, search_picks_refresh, search_picks_touched
from marketplace.search.selectors import product_search
from marketplace.search.tokens import parse_query
from marketplace.storefront.caching import catalogue_changed
from marketplace.storefront.lists_moved import ListsMoved
from marketplace.storefront.selectors import storefront_products
from shops.listings import listing_pause
from tests.factories import ProductFactory, ShopFactory

Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db

PAGE = 2


@pytest.fixture(autouse=True)
def from_the_database(settings):
    settings.STOREFRONT_CACHE_SECONDS = 0
    settings.OSCAR_PRODUCTS_PER_PAGE = PAGE


@pytest.fixture
def peaches(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        return [ProductFactory(title=f"水蜜桃{i}号", shop=shop) for i in range(5)]


def url(q: str, page: int = 1) -> str:
    return reverse("search:search") + f"?q={q}" + (f"&page={page}" if page > 1 else "")


def shown(client, address: str) -> tuple[list[str], int]:
    """The titles of the cards shown, in their order, and the count of results the page states."""
    response = client.get(address)
    assert response.status_code == 200
    page = response.content.decode()
    stated = re.search(r'data-testid="result-count">[^<]*<strong>(\d+)</strong>', page)
    return re.findall(r"水蜜桃\d号", page), int(stated.group(1)) if stated else 0


def best_first(products) -> list:
    """The ranking when every title scores alike: newest first."""
    return sorted(products, key=lambda p: (p.date_created, p.pk), reverse=True)


def ranked(q: str) -> list[str]:
    """What ranking the search live gives (the index, not the kept pick)."""
    return list(
        product_search(query=parse_query(q), products=storefront_products()).values_list("title", flat=True)
    )


def test_a_search_that_fills_more_than_a_page_is_kept_and_read_without_ranking(client, peaches):
    first, _ = shown(client, url("水蜜桃"))
    pick = SearchPick.objects.get()
    assert pick.count == 5
    assert pick.text == "水蜜桃"
    assert pick.product_ids == [p.pk for p in best_first(peaches)[: PAGE + 1]]  # a page and one
    assert first == ranked("水蜜桃")[:PAGE]

    with CaptureQueriesContext(connection) as queries:
        again, stated = shown(client, url("水蜜桃"))
    assert again == first
    assert stated == 5
    sql = " ".join(q["sql"] for q in queries)
    assert "search_searchtoken" not in sql
    assert "COUNT(" not in sql.upper()


def test_later_pages_are_ranked_as_before(client, peaches):
    shown(client, url("水蜜桃"))
    second, _ = shown(client, url("水蜜桃", page=2))
    assert second == ranked("水蜜桃")[PAGE : 2 * PAGE]


def test_a_search_that_fits_on_a_page_or_is_searched_instead_as_something_else_is_not_kept(client, peaches):
    ProductFactory(title="遂昌笋干", shop=peaches[0].shop)
    products_index()
    shown(client, url("笋干"))  # one product: cheap to rank
    shown(client, url("水密桃"))  # a homophone, searched by its sound
    shown(client, url("榴莲"))  # nothing
    assert list(SearchPick.objects.values_list("text", flat=True)) == []


def test_a_new_product_it_would_list_is_picked_into_the_kept_page(
    client, peaches, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    with django_capture_on_commit_callbacks(execute=True):
        newest = ProductFactory(title="水蜜桃9号", shop=peaches[0].shop)
    pick = SearchPick.objects.get()
    assert pick.count == 6
    assert pick.product_ids[0] == newest.pk
    assert shown(client, url("水蜜桃"))[0][0] == "水蜜桃9号"


def test_a_product_renamed_out_of_the_search_leaves_the_kept_page(
    client, peaches, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    top = best_first(peaches)[0]
    with django_capture_on_commit_callbacks(execute=True):
        top.title = "黄桃罐头"
        top.save()
    pick = SearchPick.objects.get()
    assert top.pk not in pick.product_ids
    assert pick.count == 4


def test_a_change_to_products_the_search_cannot_list_does_not_pick_it_again(
    client, peaches, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    SearchPick.objects.update(picked_at=timezone.now() - datetime.timedelta(days=1))
    before = SearchPick.objects.get().picked_at
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(title="遂昌笋干", shop=peaches[0].shop)
    # Neither the catalogue change nor the reindex picks 水蜜桃 again for 笋干: it cannot list it.
    assert SearchPick.objects.get().picked_at == before
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(title="水蜜桃礼盒", shop=peaches[0].shop)
    assert SearchPick.objects.get().picked_at > before
    SearchPick.objects.update(picked_at=before)
    assert search_picks_touched(before=set(), after={"笋干", "笋"}, products=storefront_products()) == 0
    assert SearchPick.objects.get().picked_at == before


def test_a_product_taken_off_sale_is_picked_out_of_the_kept_search(
    client, peaches, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    top = best_first(peaches)[0]
    with django_capture_on_commit_callbacks(execute=True):
        listing_pause(product=top)
    pick = SearchPick.objects.get()
    assert top.pk not in pick.product_ids
    assert pick.count == 4
    assert top.title not in shown(client, url("水蜜桃"))[0]


def test_a_shop_closed_picks_again_the_searches_its_products_are_found_by_only(
    client, peaches, django_capture_on_commit_callbacks
):
    tea_shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            ProductFactory(title=f"龙谷丽人{i}号", shop=tea_shop)
    shown(client, url("水蜜桃"))
    shown(client, url("龙谷丽人"))
    assert SearchPick.objects.count() == 2
    SearchPick.objects.update(picked_at=timezone.now() - datetime.timedelta(days=1))
    before = SearchPick.objects.get(text="龙谷丽人").picked_at
    with django_capture_on_commit_callbacks(execute=True):
        peaches[0].shop.status = Partner.Status.SUSPENDED
        peaches[0].shop.save(update_fields=["status"])  # no search token changes: no reindex
    assert not SearchPick.objects.filter(text="水蜜桃").exists()  # found nothing any more: forgotten
    assert SearchPick.objects.get(text="龙谷丽人").picked_at == before
    assert shown(client, url("水蜜桃")) == ([], 0)


@pytest.fixture
def picks_counted(monkeypatch):
    """How many times a kept search was ranked and counted again, by its text."""
    counted: Counter = Counter()
    pick_again = picks._pick_again

    def counting(pick, products):
        counted[pick.text] += 1
        return pick_again(pick, products)

    monkeypatch.setattr(picks, "_pick_again", counting)
    return counted


def test_a_saved_products_searches_are_picked_again_once_by_its_reindex(
    client, peaches, picks_counted, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        peaches[0].is_public = False
        peaches[0].save()  # reindexed (same words): its reindex picks the search again, the change not
    assert picks_counted == {"水蜜桃": 1}
    assert peaches[0].pk not in SearchPick.objects.get().product_ids


def test_products_hidden_in_bulk_are_picked_out_by_the_catalogue_change(
    client, peaches, picks_counted, django_capture_on_commit_callbacks
):
    shown(client, url("水蜜桃"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Product.objects.filter(pk=peaches[0].pk).update(is_public=False)  # no save(): no reindex
        catalogue_changed(lists=ListsMoved(products=[peaches[0].pk]), product_ids=[peaches[0].pk])
    assert picks_counted == {"水蜜桃": 1}
    assert peaches[0].pk not in SearchPick.objects.get().product_ids


def test_a_kept_count_that_disagrees_with_the_page_is_not_trusted(client, peaches):
    shown(client, url("水蜜桃"))
    SearchPick.objects.update(count=2)  # as if it lagged a change: the first page says more follow
    titles, stated = shown(client, url("水蜜桃"))
    assert titles == ranked("水蜜桃")[:PAGE]
    assert stated == 5


def test_the_refresh_keeps_the_searches_read_lately_up_to_its_limit(client, peaches, settings):
    settings.SEARCH_PICKS_KEPT = 1
    settings.SEARCH_PICK_DAYS = 7
    ProductFactory(title="桃子礼盒", shop=peaches[0].shop)
    products_index()
    for q in ("水蜜桃", "桃"):
        shown(client, url(q))
    assert SearchPick.objects.count() == 2
    today = timezone.localdate()
    SearchPick.objects.filter(text="桃").update(used_on=today - datetime.timedelta(days=1))
    assert search_picks_refresh(products=storefront_products()) == 1
    assert list(SearchPick.objects.values_list("text", flat=True)) == ["水蜜桃"]

    settings.SEARCH_PICKS_KEPT = 5
    SearchPick.objects.update(used_on=today - datetime.timedelta(days=8))
    assert search_picks_refresh(products=storefront_products()) == 0
    assert not SearchPick.objects.exists()


def test_a_read_marks_the_pick_used_once_a_day(client, peaches):
    shown(client, url("水蜜桃"))
    SearchPick.objects.update(used_on=timezone.localdate() - datetime.timedelta(days=3))
    assert search_kept(parse_query("水蜜桃")) is not None
    assert SearchPick.objects.get().used_on == timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        search_kept(parse_query("水蜜桃"))
    assert len(queries) == 1  # read only: already marked today


def test_a_pick_kept_by_another_analyser_is_forgotten_not_served(client, peaches):
    shown(client, url("水蜜桃"))
    SearchPick.objects.update(text="水蜜桃 旧")  # the key no longer matches what its text is searched as
    assert search_picks_refresh(products=storefront_products()) == 0
    assert not SearchPick.objects.exists()


def test_an_index_rebuild_forgets_the_kept_searches(client, peaches):
    shown(client, url("水蜜桃"))
    products_index()
    assert not SearchPick.objects.exists()


def test_a_database_that_refuses_the_write_still_serves_the_page(client, peaches, monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("read-only")

    monkeypatch.setattr(SearchPick.objects, "bulk_create", refuse)
    titles, stated = shown(client, url("水蜜桃"))
    assert titles == ranked("水蜜桃")[:PAGE]
    assert stated == 5
    assert not SearchPick.objects.exists()


def test_catalogue_change_without_a_delivery_keeps_serving_the_kept_page(client, peaches):
    """Between a change and its delivery the kept page lags, as the category's does: a product taken off
    sale meanwhile is not drawn."""
    shown(client, url("水蜜桃"))
    top = best_first(peaches)[0]
    Product.objects.filter(pk=top.pk).update(is_public=False)
    catalogue_changed(
        lists=ListsMoved(products=[top.pk]), product_ids=[top.pk]
    )  # not delivered: no on-commit callbacks run in this test
    titles, _ = shown(client, url("水蜜桃"))
    assert top.title not in titles
