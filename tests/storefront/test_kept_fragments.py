"""Page parts drawn once per change of what they show (marketplace/storefront/kept.py): the home page's
kinds, shops and places and the product page's breadcrumbs, gallery, facts and description are read as
kept by later pages, are never stale after a change to what they show (whatever changed: the product, a
photo, a fact, a category, a shop, a place, a shop's count), a change elsewhere leaves them kept, and a part
drawn from data a change has since replaced is not served."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.core.loading import get_model

from marketplace.storefront import kept
from marketplace.storefront.kept import (
    CATEGORY_SCOPE,
    HOME_KEY,
    HOME_SCOPE,
    OBJECT_LANGUAGE,
    OBJECT_PART,
    PRODUCT_SCOPE,
    kept_read,
    kept_stale,
    kept_stale_all,
    kept_store,
)
from marketplace.storefront.models import KeptFragment, ListsMovedRecord
from marketplace.storefront.subscribers import catalogue_changes_deliver
from tests.factories import ProductFactory, ShopFactory, UserFactory, category, region_chain

AttributeOption = get_model("catalogue", "AttributeOption")
AttributeOptionGroup = get_model("catalogue", "AttributeOptionGroup")
ProductAttribute = get_model("catalogue", "ProductAttribute")
ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")
ProductImage = get_model("catalogue", "ProductImage")
Option = get_model("catalogue", "Option")
Partner = get_model("partner", "Partner")
ProductReview = get_model("reviews", "ProductReview")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def from_the_database(settings):
    # Every page from the database: what is shown comes from the kept parts, not from stored fragments.
    settings.STOREFRONT_CACHE_SECONDS = 0
    settings.STOREFRONT_CARD_STORE = True


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        places = region_chain()
        shop = ShopFactory(name="湖山村口小店", name_en="Hushan village shop", **places)
        tea_kind = category("茶叶", "Tea")
        green = category("绿茶", "Green tea", parent=tea_kind)
        tea = ProductFactory(title="龙谷丽人茶", shop=shop, variety="龙谷丽人", stock=(Decimal("88.00"), 5))
        tea.categories.add(green)
        peach = ProductFactory(title="阳山水蜜桃", shop=shop, stock=(Decimal("168.00"), 5))
    return {"shop": shop, "tea": tea, "peach": peach, "kind": tea_kind, "green": green, **places}


def page(client, url: str) -> str:
    client.cookies.clear()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def per_response(html: str) -> str:
    """The page without what differs per response (its script nonces and CSRF tokens)."""
    return re.sub(r'(nonce|value)="[A-Za-z0-9+/=]{16,}"', "", html)


def fragments(scope: str, key: object) -> set[str]:
    return set(KeptFragment.objects.filter(scope=scope, key=str(key)).values_list("name", flat=True))


def test_the_home_page_keeps_its_kinds_shops_and_places_and_reads_no_shop_again(client, world):
    first = page(client, "/")
    assert "湖山村口小店" in first
    assert "遂昌县" in first
    assert "茶叶" in first
    assert fragments(HOME_SCOPE, HOME_KEY) == {"kinds", "shops-places"}

    with CaptureQueriesContext(connection) as queries:
        again = page(client, "/")
    assert per_response(again) == per_response(first)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert Partner._meta.db_table not in read  # neither the shops nor the places counted again
    assert "catalogue_category" not in read


def test_a_shop_renamed_or_closed_is_shown_by_the_next_home_page(client, world):
    shop = world["shop"]
    page(client, "/")
    shop.name = "湖山茶园"
    shop.save()
    assert "湖山茶园" in page(client, "/")

    shop.status = Partner.Status.SUSPENDED
    shop.save()
    home = page(client, "/")
    assert "湖山茶园" not in home
    assert "遂昌县" not in home  # no open shop there any more


def changes_delivered() -> None:
    """The catalogue changes written so far delivered, as the outbox delivers them."""
    catalogue_changes_deliver(list(ListsMovedRecord.objects.values_list("key", flat=True).distinct()))


def test_a_shops_product_count_moved_by_a_catalogue_change_is_shown(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    changes_delivered()
    assert "<strong>2</strong> products" in page(client, "/")
    world["peach"].is_public = False
    world["peach"].save()
    changes_delivered()  # the recount, as the outbox delivers it
    assert "<strong>1</strong> product<" in page(client, "/")


def test_a_category_renamed_is_shown_on_the_home_page_and_in_every_product_page_breadcrumb(client, world):
    tea = world["tea"]
    page(client, "/")
    page(client, tea.get_absolute_url())
    world["kind"].name = "名茶"
    world["kind"].save()
    assert "名茶" in page(client, "/")
    assert "名茶" in page(client, tea.get_absolute_url())


def test_the_product_page_keeps_its_parts_and_reads_no_photo_fact_or_category_again(client, world):
    tea = world["tea"]
    first = page(client, tea.get_absolute_url())
    assert "龙谷丽人" in first
    assert fragments(PRODUCT_SCOPE, tea.pk) == {
        "breadcrumbs", "gallery", "facts", "description", "reviews", OBJECT_PART,
    }  # fmt: skip

    with CaptureQueriesContext(connection) as queries:
        again = page(client, tea.get_absolute_url())
    read = " ".join(query["sql"] for query in queries.captured_queries)
    # Nor the product, its shop, kind, certifications, purchase options or reviews: the product is kept
    # with its parts, read in their one query. Only its stock records are read (stock is drawn live).
    for table in (
        "catalogue_productimage",
        "catalogue_productattributevalue",
        "catalogue_category",
        'catalogue_product"',
        "partner_partner",
        "catalogue_productclass",
        "catalogue_certification",
        "catalogue_option",
        "reviews_productreview",
    ):
        assert table not in read
    assert "partner_stockrecord" in read
    assert per_response(again) == per_response(first)


def test_a_change_to_the_product_its_photo_or_its_facts_is_shown_and_others_stay_kept(client, world):
    tea, peach = world["tea"], world["peach"]
    page(client, tea.get_absolute_url())
    page(client, peach.get_absolute_url())
    peach_kept = kept_read(scope=PRODUCT_SCOPE, key=str(peach.pk), language="zh-hans")

    tea.variety = "白叶一号"
    tea.save()
    assert "白叶一号" in page(client, tea.get_absolute_url())

    ProductImage.objects.create(
        product=tea, original="images/tea-garden.jpg", caption="茶园", display_order=0
    )
    assert 'alt="茶园"' in page(client, tea.get_absolute_url())

    group = AttributeOptionGroup.objects.create(name="采摘", code="tea.picking")
    spring = AttributeOption.objects.create(group=group, option="明前", option_en="Before Qingming")
    picking = ProductAttribute.objects.create(
        product_class=tea.product_class, code="picking", name="采摘时节", type=ProductAttribute.OPTION,
        option_group=group,
    )  # fmt: skip
    ProductAttributeValue.objects.create(product=tea, attribute=picking, value_option=spring)
    assert "明前" in page(client, tea.get_absolute_url())
    spring.option = "雨前"
    spring.save()  # an option's name: every product page that shows it
    assert "雨前" in page(client, tea.get_absolute_url())

    # The peach's parts were not drawn again by the tea's changes that were its alone.
    assert kept_read(scope=PRODUCT_SCOPE, key=str(peach.pk), language="zh-hans").generation >= (
        peach_kept.generation
    )
    assert "阳山水蜜桃" in page(client, peach.get_absolute_url())


def test_a_review_approved_or_a_vote_is_shown_by_the_next_product_page(client, world):
    tea = world["tea"]
    assert "回甘明显" not in page(client, tea.get_absolute_url())
    buyer = UserFactory()
    review = ProductReview.objects.create(
        product=tea, user=buyer, score=5, title="回甘明显", body="春茶，很香。", status=ProductReview.APPROVED
    )
    shown = page(client, tea.get_absolute_url())
    assert "回甘明显" in shown  # the kept product's number of reviews and the kept reviews, both moved on
    review.status = ProductReview.REJECTED
    review.save()
    assert "回甘明显" not in page(client, tea.get_absolute_url())


def test_a_reviewer_who_changes_their_name_is_shown_under_it_and_signing_in_moves_nothing(client, world):
    tea = world["tea"]
    buyer = UserFactory(first_name="小", last_name="张")
    ProductReview.objects.create(
        product=tea, user=buyer, score=5, title="回甘明显", body="春茶。", status=ProductReview.APPROVED
    )
    assert "<strong>张小</strong>" in page(client, tea.get_absolute_url())  # family name first
    kept_at = kept_read(scope=PRODUCT_SCOPE, key=str(tea.pk), language="zh-hans").generation
    client.force_login(buyer)  # saves last_login only
    client.logout()
    assert kept_read(scope=PRODUCT_SCOPE, key=str(tea.pk), language="zh-hans").generation == kept_at
    buyer.first_name = "大"
    buyer.save()
    shown = page(client, tea.get_absolute_url())
    assert "<strong>张大</strong>" in shown
    assert "张小" not in shown
    with CaptureQueriesContext(connection) as registering:
        get_user_model().objects.create_user("newcomer", "newcomer@example.com", "pw")  # has reviewed nothing
    assert not [q for q in registering.captured_queries if "reviews_productreview" in q["sql"]]


def test_a_signed_in_visitor_is_not_shown_the_reviews_kept_for_visitors(client, world):
    tea = world["tea"]
    assert "#addreview" not in page(client, tea.get_absolute_url())  # kept for visitors not signed in
    client.force_login(UserFactory())
    response = client.get(tea.get_absolute_url())
    assert "#addreview" in response.content.decode()


def test_a_purchase_option_given_to_a_kind_moves_every_kept_product_on(client, world):
    tea = world["tea"]
    engraving = Option.objects.create(name="礼盒刻字", code="engraving", type=Option.TEXT)
    assert 'name="engraving"' not in page(client, tea.get_absolute_url())  # kept: it has no options
    tea.product_class.options.add(engraving)
    assert 'name="engraving"' in page(client, tea.get_absolute_url())  # Oscar's basket form, with it
    tea.product_class.options.remove(engraving)
    assert 'name="engraving"' not in page(client, tea.get_absolute_url())


def test_a_kept_product_this_release_cannot_read_is_loaded_again(client, world):
    tea = world["tea"]
    first = page(client, tea.get_absolute_url())
    KeptFragment.objects.filter(scope=PRODUCT_SCOPE, key=str(tea.pk), name=OBJECT_PART).update(
        html="bm90IGEgcGlja2xl"
    )
    assert per_response(page(client, tea.get_absolute_url())) == per_response(first)
    kept_object = KeptFragment.objects.get(scope=PRODUCT_SCOPE, key=str(tea.pk), name=OBJECT_PART)
    assert kept_object.html != "bm90IGEgcGlja2xl"  # loaded and kept again


def test_a_product_taken_off_sale_is_not_served_from_its_kept_copy(client, world):
    peach = world["peach"]
    page(client, peach.get_absolute_url())
    peach.is_public = False
    peach.save()
    client.cookies.clear()
    assert client.get(peach.get_absolute_url()).status_code == 404


def test_a_place_renamed_is_shown_in_the_origin_of_a_product_page(client, world):
    peach = world["peach"]
    page(client, peach.get_absolute_url())
    world["village"].name = "黄沙腰新村"
    world["village"].save()
    assert "黄沙腰新村" in page(client, peach.get_absolute_url())


def test_each_language_has_its_own_parts(client, world):
    tea = world["tea"]
    chinese = page(client, tea.get_absolute_url())
    client.cookies["django_language"] = "en"
    english = client.get(tea.get_absolute_url()).content.decode()
    assert "绿茶" in chinese
    assert "Green tea" in english
    assert set(
        KeptFragment.objects.filter(scope=PRODUCT_SCOPE, key=str(tea.pk)).values_list("language", flat=True)
    ) == {"zh-hans", "en", OBJECT_LANGUAGE}  # the kept product: one for every language


def test_a_part_drawn_from_data_a_change_replaced_is_never_served():
    # A page read the generation, then a change committed, then the page kept what it drew from before.
    before = kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans")
    kept_stale(scope=PRODUCT_SCOPE, keys=[7])
    kept_store(
        scope=PRODUCT_SCOPE, key="7", name="facts", language="zh-hans", generation=before.generation,
        drawn_for="x", html="<p>old</p>",
    )  # fmt: skip
    assert kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans").fragments == {}

    now = kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans")
    kept_store(
        scope=PRODUCT_SCOPE, key="7", name="facts", language="zh-hans", generation=now.generation,
        drawn_for="x", html="<p>new</p>",
    )  # fmt: skip
    assert kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans").fragments == {
        "facts": ("x", "<p>new</p>")
    }
    # A page late with an older generation does not overwrite it.
    kept_store(
        scope=PRODUCT_SCOPE, key="7", name="facts", language="zh-hans", generation=before.generation,
        drawn_for="x", html="<p>old</p>",
    )  # fmt: skip
    assert kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans").fragments["facts"][1] == "<p>new</p>"

    kept_stale_all(scope=PRODUCT_SCOPE)  # every key of the scope at once
    assert kept_read(scope=PRODUCT_SCOPE, key="7", language="zh-hans").fragments == {}


def test_a_product_changed_between_its_read_and_the_draw_is_not_kept(client, world, monkeypatch):
    tea = world["tea"]
    real_read = kept.kept_read

    def changed_meanwhile(**kwargs):
        state = real_read(**kwargs)
        # The product is read after this: a change committing now is seen by this page, so its parts are
        # kept, but under the generation read before it, which the change moved on.
        ProductFactory._meta.model.objects.filter(pk=tea.pk).update(variety="白叶一号")
        kept_stale(scope=PRODUCT_SCOPE, keys=[tea.pk])
        return state

    monkeypatch.setattr(kept, "kept_read", changed_meanwhile)
    assert "白叶一号" in page(client, tea.get_absolute_url())
    monkeypatch.setattr(kept, "kept_read", real_read)
    assert kept_read(scope=PRODUCT_SCOPE, key=str(tea.pk), language="zh-hans").fragments == {}
    assert "白叶一号" in page(client, tea.get_absolute_url())


def test_a_new_release_draws_every_part_again(client, world, monkeypatch):
    tea = world["tea"]
    page(client, tea.get_absolute_url())
    monkeypatch.setattr(kept, "kept_format", lambda: "next-release")
    monkeypatch.setattr(
        "marketplace.storefront.templatetags.storefront_tags.kept_format", lambda: "next-release"
    )
    page(client, tea.get_absolute_url())
    drawn_for = set(KeptFragment.objects.filter(scope=PRODUCT_SCOPE).values_list("drawn_for", flat=True))
    assert drawn_for
    assert all(value.startswith("next-release:") for value in drawn_for)


def test_with_the_store_off_nothing_is_kept(client, world, settings):
    settings.STOREFRONT_CARD_STORE = False
    assert "龙谷丽人" in page(client, world["tea"].get_absolute_url())
    assert "湖山村口小店" in page(client, "/")
    assert not KeptFragment.objects.exists()


def test_the_release_fingerprint_reads_the_code_and_the_translations():
    kept.kept_format.cache_clear()
    assert len(kept.kept_format()) == 16
    assert kept.kept_format() == kept.kept_format()


def test_a_category_page_keeps_its_head_and_shows_a_renamed_parent_or_a_new_kind_below(client, world):
    kind, green = world["kind"], world["green"]
    page(client, green.get_absolute_url())
    assert fragments(CATEGORY_SCOPE, green.pk) == {"breadcrumbs", "head"}
    with CaptureQueriesContext(connection) as queries:
        page(client, kind.get_absolute_url())
        page(client, kind.get_absolute_url())
    # The second view of the parent reads neither its ancestors nor its children.
    assert sum('"depth" = 2' in query["sql"] for query in queries.captured_queries) == 1

    kind.name = "名茶"
    kind.save()
    assert "名茶" in page(client, green.get_absolute_url())  # the parent in the child's breadcrumbs
    category("白茶", "White tea", parent=kind)
    assert "白茶" in page(client, kind.get_absolute_url())
