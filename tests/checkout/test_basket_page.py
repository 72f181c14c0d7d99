"""The basket page lists its lines shop by shop; Oscar's one line formset still updates and removes them."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from tests.factories import ProductFactory

Line = get_model("basket", "Line")

pytestmark = pytest.mark.django_db

SECTION = re.compile(r'<section class="basket-shop" data-testid="basket-shop-group".*?</section>', re.S)


@pytest.fixture
def basket_with_a_second_peach(client, basket_from_two_shops):
    """Peaches, tea, then yellow peaches from the peaches' shop: in the order added, the shops alternate."""
    peaches, tea = basket_from_two_shops
    yellow = ProductFactory(title="锦绣黄桃", shop=peaches.shop, perishable=True, stock=(Decimal("88.00"), 5))
    assert client.post(reverse("basket:add", kwargs={"pk": yellow.pk}), {"quantity": 1}).status_code == 302
    return peaches, tea, yellow


def form_fields(html: str) -> dict[str, str]:
    """The values a browser would post from the page's text, hidden and number inputs."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None or 'type="checkbox"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    return fields


def test_each_shops_lines_are_under_its_name_with_its_delivery_and_subtotal(
    client, basket_with_a_second_peach
):
    peaches, tea, yellow = basket_with_a_second_peach

    html = client.get(reverse("basket:summary")).content.decode()

    peach_shop, tea_shop = SECTION.findall(html)
    assert peaches.shop.get_absolute_url() in peach_shop
    assert "桃源果园" in peach_shop
    assert "阳山水蜜桃" in peach_shop
    assert "锦绣黄桃" in peach_shop
    assert "龙谷丽人茶" not in peach_shop
    assert tea.shop.get_absolute_url() in tea_shop
    assert "龙谷茶舍" in tea_shop
    assert "龙谷丽人茶" in tea_shop
    assert "桃" not in tea_shop
    # Each shop's delivery and subtotal are the ones the checkout will charge for that shop's parcel.
    checkout_groups = client.get(reverse("checkout:index")).context["groups"]
    for section, group in zip((peach_shop, tea_shop), checkout_groups, strict=True):
        [shipping] = re.findall(r'data-testid="basket-shop-shipping".*?</tr>', section, re.S)
        assert ("免运费" if group.shipping.free else f"¥{group.shipping.charge}") in shipping
        [subtotal] = re.findall(r'data-testid="basket-shop-subtotal".*?</tr>', section, re.S)
        assert f"¥{group.total}" in subtotal
    peach_group, tea_group = checkout_groups
    assert peach_group.total == Decimal("168.00") + Decimal("88.00") + peach_group.shipping.charge
    assert tea_group.total == Decimal("196.00") + tea_group.shipping.charge


def test_the_grouped_lines_still_update_and_remove_through_oscars_formset(client, basket_with_a_second_peach):
    peaches, tea, yellow = basket_with_a_second_peach
    html = client.get(reverse("basket:summary")).content.decode()
    peach_shop, tea_shop = SECTION.findall(html)
    fields = form_fields(re.search(r'<form method="post" class="basket_summary".*?</form>', html, re.S)[0])
    tea_line = Line.objects.get(product=tea)

    # The buyer types 3 teas and presses 'Remove' on the yellow peaches, printed second in their shop but
    # third in the formset (Oscar's JS ticks form-<data-id>-DELETE).
    [tea_prefix] = re.findall(rf'name="(form-\d+)-id" value="{tea_line.pk}"', tea_shop)
    yellow_index = re.findall(
        r'data-id="(\d+)" data-behaviours="remove"', peach_shop[peach_shop.index("锦绣黄桃") :]
    )[0]
    fields[f"{tea_prefix}-quantity"] = "3"
    fields[f"form-{yellow_index}-DELETE"] = "on"
    response = client.post(reverse("basket:summary"), fields)

    assert response.status_code == 302
    assert Line.objects.get(pk=tea_line.pk).quantity == 3
    assert not Line.objects.filter(product=yellow).exists()
    assert Line.objects.get(product=peaches).quantity == 1
    page = client.get(reverse("basket:summary")).content.decode()
    assert len(SECTION.findall(page)) == 2
    assert "锦绣黄桃" not in page


def test_oscars_ajax_update_rerenders_the_basket_shop_by_shop(client, basket_with_a_second_peach):
    peaches, _tea, _yellow = basket_with_a_second_peach
    html = client.get(reverse("basket:summary")).content.decode()
    fields = form_fields(re.search(r'<form method="post" class="basket_summary".*?</form>', html, re.S)[0])
    peach_line = Line.objects.get(product=peaches)
    [peach_prefix] = re.findall(rf'name="(form-\d+)-id" value="{peach_line.pk}"', html)
    fields[f"{peach_prefix}-quantity"] = "2"

    # Oscar's basket JS posts the formset with XMLHttpRequest and swaps in the returned HTML.
    response = client.post(reverse("basket:summary"), fields, HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    assert response.status_code == 200
    assert Line.objects.get(pk=peach_line.pk).quantity == 2
    peach_shop, tea_shop = SECTION.findall(response.json()["content_html"])
    assert "阳山水蜜桃" in peach_shop
    assert "锦绣黄桃" in peach_shop
    assert "龙谷丽人茶" in tea_shop


def test_in_english_the_lines_are_named_by_their_english_titles(client, basket_from_two_shops):
    """They kept the Chinese title the line was added with (found walking the basket in English)."""
    peaches, _tea = basket_from_two_shops
    peaches.title_en = "Yangshan honey peaches, 8"
    peaches.save()
    client.cookies["django_language"] = "en"
    page = client.get(reverse("basket:summary")).content.decode()
    assert ">Yangshan honey peaches, 8</a></h3>" in page
    assert "Quantity of Yangshan honey peaches, 8" in page

    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("basket:summary")).content.decode()
    assert f">{peaches.title}</a></h3>" in page
