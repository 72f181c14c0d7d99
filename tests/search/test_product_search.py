import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.outbox.models import OutboxMessage
from marketplace.search.indexing import product_index, products_index
from marketplace.search.models import SearchToken
from marketplace.search.selectors import product_search, product_search_forgiving
from marketplace.search.tasks import PRODUCT_CHANGED
from marketplace.search.tokens import parse_query
from tests.factories import ProductFactory, ShopFactory, region_chain

Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db


def search(raw: str) -> list[str]:
    found = product_search(query=parse_query(raw), products=Product.objects.storefront())
    return [p.title for p in found]


@pytest.fixture
def catalogue():
    peach_shop = ShopFactory(name="桃源果园", name_en="Taoyuan Orchard")
    tea_shop = ShopFactory(name="龙谷茶舍", name_en="Longgu Tea House", **region_chain())
    ProductFactory(
        title="阳山水蜜桃 湖景蜜露 12只装", title_en="Yangshan honey peach, 12 fruit", shop=peach_shop
    )
    ProductFactory(title="白凤水蜜桃", title_en="Baifeng white peaches", shop=peach_shop)
    ProductFactory(title="遂昌笋干 500克", title_en="Suichang dried bamboo shoots", shop=tea_shop)
    ProductFactory(title="龙谷丽人茶 明前", title_en="Longgu Liren green tea", shop=tea_shop)
    # A product whose bigrams 水蜜 and 蜜桃 both occur but never as 水蜜桃.
    ProductFactory(title="水蜜饯与蜜桃干", title_en="Candied fruit", shop=tea_shop)
    products_index()


def test_chinese_substring_finds_the_phrase_inside_a_longer_name(catalogue):
    assert sorted(search("水蜜桃")) == ["白凤水蜜桃", "阳山水蜜桃 湖景蜜露 12只装"]


def test_single_character_query_finds_every_name_containing_it(catalogue):
    assert search("笋") == ["遂昌笋干 500克"]
    assert set(search("桃")) == {"阳山水蜜桃 湖景蜜露 12只装", "白凤水蜜桃", "水蜜饯与蜜桃干"}


def test_english_word_finds_by_prefix_and_plural(catalogue):
    assert set(search("peach")) == {"阳山水蜜桃 湖景蜜露 12只装", "白凤水蜜桃"}
    assert search("bamboo shoot") == ["遂昌笋干 500克"]


def test_shop_and_place_names_are_searchable(catalogue):
    assert set(search("遂昌")) == {"遂昌笋干 500克", "龙谷丽人茶 明前", "水蜜饯与蜜桃干"}
    assert set(search("taoyuan")) == {"阳山水蜜桃 湖景蜜露 12只装", "白凤水蜜桃"}


def test_title_matches_rank_before_other_matches(catalogue):
    # 遂昌 is in the title of the bamboo shoots and only in the shop's place for the others.
    assert search("遂昌")[0] == "遂昌笋干 500克"


def test_products_of_closed_shops_are_not_found(catalogue):
    Partner.objects.filter(name="桃源果园").update(status=Partner.Status.SUSPENDED)
    assert search("水蜜桃") == []


def test_index_follows_a_rename_through_the_signal_and_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="高山土蜂蜜", title_en="Mountain honey")
    assert search("蜂蜜") == ["高山土蜂蜜"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        product.title = "高山百花蜜"
        product.save()
    assert callbacks, "the reindex runs after commit, not inside the transaction"
    assert search("蜂蜜") == []
    assert search("百花") == ["高山百花蜜"]


def test_reindexing_is_idempotent_and_deleting_clears_tokens(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="番薯干")
    before = SearchToken.objects.filter(product=product).count()
    again = product_index(product_id=product.pk)
    assert again.found
    assert again.before == again.after
    assert SearchToken.objects.filter(product=product).count() == before > 0
    product_id = product.pk
    product.stockrecords.all().delete()
    product.delete()
    assert not SearchToken.objects.filter(product_id=product_id).exists()
    assert product_index(product_id=product_id).found is False


def forgiving(raw: str):
    return product_search_forgiving(query=parse_query(raw), products=Product.objects.storefront())


def test_a_homophone_typo_is_searched_by_its_sound(catalogue):
    outcome = forgiving("水密桃")
    assert sorted(p.title for p in outcome.products) == ["白凤水蜜桃", "阳山水蜜桃 湖景蜜露 12只装"]
    assert outcome.corrected == (("水密桃", "shuimitao"),)


def test_a_misspelt_english_word_is_searched_by_its_nearest_spelling(catalogue):
    outcome = forgiving("peech")
    assert {p.title for p in outcome.products} == {"阳山水蜜桃 湖景蜜露 12只装", "白凤水蜜桃"}
    assert outcome.corrected == (("peech", "peach"),)


def test_a_word_that_matches_nothing_is_left_out_and_said_so(catalogue):
    outcome = forgiving("笋干 zzzz")
    assert [p.title for p in outcome.products] == ["遂昌笋干 500克"]
    assert outcome.dropped == ("zzzz",)


def test_a_query_mostly_unmatched_finds_nothing(catalogue):
    # 壳 alone would match nothing here either; 手机 (phone) matches nothing: no scraps are shown.
    outcome = forgiving("手机 笋")
    assert list(outcome.products) == []
    assert outcome.dropped == ("手机",)


def test_a_query_found_as_typed_is_not_changed(catalogue):
    outcome = forgiving("水蜜桃")
    assert not outcome.is_changed
    assert outcome.query.text == "水蜜桃"


def test_the_search_page_tells_the_buyer_what_it_searched_instead(client, catalogue):
    response = client.get(reverse("search:search"), {"q": "水密桃"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="query-changed"' in page
    assert "shuimitao" in page
    assert "白凤水蜜桃" in page


def _reindexes_written() -> set[int]:
    return {message.payload["product_id"] for message in OutboxMessage.objects.filter(topic=PRODUCT_CHANGED)}


def test_a_shop_reindexes_its_products_only_when_what_they_are_found_by_changes():
    shop = ShopFactory(name="桃源果园", name_en="Taoyuan Orchard")
    peaches = [ProductFactory(title=f"水蜜桃 {n}", shop=shop) for n in range(3)]
    ProductFactory(title="遂昌笋干")  # another shop's
    OutboxMessage.objects.all().delete()

    shop = Partner.objects.get(pk=shop.pk)  # as the dashboard and the console load it: a plain save
    shop.phone = "0578-8123456"
    shop.story = "三代人种桃"
    shop.save()
    assert _reindexes_written() == set(), "a phone and a story are not searched: nothing to reindex"

    shop.name_en = "Taoyuan Peach Orchard"
    shop.save()
    assert _reindexes_written() == {peach.pk for peach in peaches}

    OutboxMessage.objects.all().delete()
    places = region_chain(county="青田县", county_en="Qingtian")
    shop.city = places["city"]
    shop.save(update_fields=["city"])
    assert _reindexes_written() == {peach.pk for peach in peaches}, "the city is searched too"


def test_a_shop_moved_to_another_county_is_found_there(django_capture_on_commit_callbacks):
    shop = ShopFactory(name="桃源果园", name_en="Taoyuan Orchard")
    ProductFactory(title="白凤水蜜桃", shop=shop)
    products_index()
    assert search("qingtian") == []
    places = region_chain(county="青田县", county_en="Qingtian")
    shop = Partner.objects.get(pk=shop.pk)
    with django_capture_on_commit_callbacks(execute=True):
        shop.county = places["county"]
        shop.save()
    assert search("qingtian") == ["白凤水蜜桃"]
    assert search("青田") == ["白凤水蜜桃"]
