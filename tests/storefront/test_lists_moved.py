"""A catalogue change picks again only the kept lists it can reach (marketplace/storefront/lists_moved.py):
the categories of its products (and those above them), the counts of their shops, the searches they can be
found by; a photo or a price moves none; the category tree moves all. What is picked narrowly equals what
picking everything again gives."""

import random

import pytest
from django.db import transaction
from oscar.core.loading import get_model

from marketplace.outbox.models import OutboxMessage
from marketplace.storefront import caching, category_pick
from marketplace.storefront.caching import CATALOGUE_CHANGED, catalogue_changed
from marketplace.storefront.category_pick import category_first_page, category_picks_refresh
from marketplace.storefront.lists_moved import ListsMoved, lists_moved_take
from marketplace.storefront.models import CategoryPick, ListsMovedRecord
from marketplace.storefront.shop_counts import category_product_counts_refresh, shop_product_counts_refresh
from marketplace.storefront.subscribers import catalogue_changes_deliver
from shops.photos import product_photo_make_main
from shops.services import shop_status_change
from tests.factories import ProductFactory, ShopFactory, category

Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductImage = get_model("catalogue", "ProductImage")

pytestmark = pytest.mark.django_db

UNTOUCHED = [-1]  # a pick no real pick can equal: left as it is by a change that cannot reach it


@pytest.fixture(autouse=True)
def small_pages(settings):
    settings.OSCAR_PRODUCTS_PER_PAGE = 2


@pytest.fixture
def tree():
    """鲜果 › 桃, 鲜果 › 梨, 茶叶; two shops; three peaches, a pear, a tea."""
    fruit = category("鲜果", "Fresh fruit")
    peach = category("桃", "Peaches", parent=fruit)
    pear = category("梨", "Pears", parent=fruit)
    tea = category("茶叶", "Tea")
    orchard, tea_garden = ShopFactory(code="orchard"), ShopFactory(code="tea-garden")
    products = {}
    for name, shop, where in [
        ("水蜜桃1号", orchard, peach),
        ("水蜜桃2号", orchard, peach),
        ("水蜜桃3号", orchard, peach),
        ("翠冠梨", orchard, pear),
        ("龙谷丽人", tea_garden, tea),
    ]:
        products[name] = ProductFactory(title=name, shop=shop)
        ProductCategory.objects.create(product=products[name], category=where)
    picks_and_counts_refreshed()
    return {"fruit": fruit, "peach": peach, "pear": pear, "tea": tea, "orchard": orchard,
            "tea_garden": tea_garden, **products}  # fmt: skip


def picks_and_counts_refreshed() -> None:
    """Every list picked again, as a change to everything does (the baseline)."""
    shop_product_counts_refresh()
    category_product_counts_refresh()
    category_picks_refresh()
    ListsMovedRecord.objects.all().delete()


def lists() -> dict:
    return {
        "picks": dict(CategoryPick.objects.values_list("category_id", "product_ids")),
        "shops": dict(Partner.objects.values_list("pk", "public_product_count")),
        "categories": dict(Category.objects.values_list("pk", "public_product_count")),
    }


def mark_untouched(*categories) -> None:
    CategoryPick.objects.filter(category__in=categories).update(product_ids=UNTOUCHED)


def pick_of(category_) -> list[int]:
    return CategoryPick.objects.get(category=category_).product_ids


def recorded() -> set[tuple[str, int]]:
    return set(ListsMovedRecord.objects.values_list("kind", "ident"))


def test_a_product_taken_off_sale_picks_its_categories_and_those_above_only(
    tree, django_capture_on_commit_callbacks
):
    mark_untouched(tree["pear"], tree["tea"])
    with django_capture_on_commit_callbacks(execute=True):
        tree["水蜜桃3号"].is_public = False
        tree["水蜜桃3号"].save()
    assert tree["水蜜桃3号"].pk not in pick_of(tree["peach"])
    assert tree["水蜜桃3号"].pk not in pick_of(tree["fruit"])  # 鲜果 lists the peaches below it
    assert pick_of(tree["pear"]) == pick_of(tree["tea"]) == UNTOUCHED
    assert Partner.objects.get(pk=tree["orchard"].pk).public_product_count == 3
    assert Category.objects.get(pk=tree["fruit"].pk).public_product_count == 3
    assert not ListsMovedRecord.objects.exists()  # taken by the delivery


def test_a_photo_or_a_price_moves_no_list(tree, django_capture_on_commit_callbacks):
    peach = tree["水蜜桃1号"]
    ProductImage.objects.create(product=peach, original="p1.jpg", display_order=0)
    second = ProductImage.objects.create(product=peach, original="p2.jpg", display_order=1)
    ListsMovedRecord.objects.all().delete()
    mark_untouched(tree["peach"], tree["fruit"])
    before = caching.catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        product_photo_make_main(product=peach, photo_id=second.pk)
    assert pick_of(tree["peach"]) == pick_of(tree["fruit"]) == UNTOUCHED
    assert caching.catalogue_version() > before  # the cached pages still retire


def test_a_change_to_the_category_tree_moves_every_list(tree, django_capture_on_commit_callbacks):
    mark_untouched(tree["pear"], tree["tea"])
    with django_capture_on_commit_callbacks(execute=True):
        tree["tea"].name = "茶"
        tree["tea"].save()
    assert UNTOUCHED not in (pick_of(tree["pear"]), pick_of(tree["tea"]))


def test_links_set_through_the_relation_name_the_categories_left_and_joined(tree):
    pear = tree["翠冠梨"]
    with transaction.atomic():
        pear.categories.set([tree["peach"].pk])
        assert {
            ("category", tree["pear"].pk),
            ("category", tree["peach"].pk),
            ("product", pear.pk),
        } <= recorded()
    ListsMovedRecord.objects.all().delete()
    with transaction.atomic():
        pear.categories.clear()
        assert ("category", tree["peach"].pk) in recorded()


def test_the_categories_a_product_left_are_picked_again(tree, django_capture_on_commit_callbacks):
    pear = tree["翠冠梨"]
    with django_capture_on_commit_callbacks(execute=True):
        pear.categories.set([tree["tea"].pk])
    assert pear.pk not in pick_of(tree["pear"])
    assert pear.pk in pick_of(tree["tea"])
    narrow = lists()
    picks_and_counts_refreshed()
    assert narrow == lists()


def test_a_deleted_products_shop_and_categories_are_counted_again(tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tree["龙谷丽人"].delete()
    assert Partner.objects.get(pk=tree["tea_garden"].pk).public_product_count == 0
    assert Category.objects.get(pk=tree["tea"].pk).public_product_count == 0
    assert pick_of(tree["tea"]) == []


def test_a_shop_closed_moves_its_products_lists(tree, django_capture_on_commit_callbacks):
    mark_untouched(tree["tea"])
    with django_capture_on_commit_callbacks(execute=True):
        shop_status_change(shop_id=tree["orchard"].pk, to_status=Partner.Status.SUSPENDED)
    assert pick_of(tree["peach"]) == pick_of(tree["pear"]) == pick_of(tree["fruit"]) == []
    assert pick_of(tree["tea"]) == UNTOUCHED
    assert Category.objects.get(pk=tree["fruit"].pk).public_product_count == 0


def test_a_shops_profile_edited_moves_no_list_its_closing_by_a_plain_save_does(
    tree, django_capture_on_commit_callbacks
):
    mark_untouched(tree["peach"], tree["pear"], tree["fruit"], tree["tea"])
    shop = Partner.objects.get(pk=tree["orchard"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        shop.name = "周家桃园"
        shop.save()
    assert pick_of(tree["peach"]) == UNTOUCHED
    with django_capture_on_commit_callbacks(execute=True):
        shop.status = Partner.Status.SUSPENDED
        shop.save()
    assert pick_of(tree["peach"]) == pick_of(tree["pear"]) == pick_of(tree["fruit"]) == []
    assert pick_of(tree["tea"]) == UNTOUCHED


def test_more_products_than_the_limit_move_everything(tree, settings):
    settings.LISTS_MOVED_PRODUCTS_MAX = 2
    ids = [tree[name].pk for name in ("水蜜桃1号", "水蜜桃2号", "水蜜桃3号")]
    with transaction.atomic():
        catalogue_changed(lists=ListsMoved(products=ids))
        assert recorded() == {("all", 0)}
    assert lists_moved_take(keys=ListsMovedRecord.objects.values_list("key", flat=True)).everything


def test_changes_delivered_together_bump_the_version_once_and_reach_what_each_named(tree):
    mark_untouched(tree["peach"], tree["pear"], tree["tea"])
    keys = []
    for name in ("翠冠梨", "龙谷丽人"):
        Product.objects.filter(pk=tree[name].pk).update(is_public=False)
        with transaction.atomic():
            catalogue_changed(lists=ListsMoved(products=[tree[name].pk]))
            keys.append(OutboxMessage.objects.filter(topic=CATALOGUE_CHANGED).latest("pk").key)
    before = caching.catalogue_version()
    catalogue_changes_deliver(keys)
    assert caching.catalogue_version() == before + 1
    assert pick_of(tree["pear"]) == pick_of(tree["tea"]) == []
    assert pick_of(tree["peach"]) == UNTOUCHED


def test_a_pages_pick_does_not_overwrite_one_the_subscriber_kept_meanwhile(tree, monkeypatch):
    peach = Category.objects.get(pk=tree["peach"].pk)
    CategoryPick.objects.filter(category=peach).delete()
    read = category_pick._first_page

    def read_before_a_change(category_, page_size):
        ids = read(category_, page_size)
        category_pick._keep(category_, page_size, UNTOUCHED)  # the subscriber keeps its pick meanwhile
        return ids

    monkeypatch.setattr(category_pick, "_first_page", read_before_a_change)
    assert category_first_page(peach) == [tree["水蜜桃3号"].pk, tree["水蜜桃2号"].pk, tree["水蜜桃1号"].pk]
    assert pick_of(peach) == UNTOUCHED


def test_changes_picked_narrowly_equal_everything_picked_again(tree, django_capture_on_commit_callbacks):
    """Random changes, each delivered as the outbox delivers it: after each, the kept picks and counts are
    what picking every list again gives."""
    rng = random.Random(20261204)
    categories = [tree[name] for name in ("fruit", "peach", "pear", "tea")]
    shops = [tree["orchard"], tree["tea_garden"]]
    for step in range(40):
        products = list(Product.objects.all())
        move = rng.choice(["sale", "link", "unlink", "new", "delete", "shop", "photo"])
        with django_capture_on_commit_callbacks(execute=True):
            if move == "sale":
                product = rng.choice(products)
                product.is_public = not product.is_public
                product.save()
            elif move == "link":
                rng.choice(products).categories.add(rng.choice(categories))
            elif move == "unlink":
                rng.choice(products).categories.remove(rng.choice(categories))
            elif move == "new":
                new = ProductFactory(title=f"新品{step}", shop=rng.choice(shops))
                new.categories.add(rng.choice(categories))
            elif move == "delete" and len(products) > 3:
                rng.choice(products).delete()
            elif move == "shop":
                shop = rng.choice(shops)
                shop.status = rng.choice([Partner.Status.APPROVED, Partner.Status.SUSPENDED])
                shop.save(update_fields=["status"])
            elif move == "photo":
                ProductImage.objects.create(product=rng.choice(products), original=f"x{step}.jpg")
        narrow = lists()
        picks_and_counts_refreshed()
        assert narrow == lists(), f"step {step}: {move}"
