"""Every console URL, walked as shop B's farmer with shop A's ids: each answers 404 (or 403) and no row
of shop A changes. The patterns come from the console's URL conf, so a page added tomorrow is walked
too; a pattern with an argument this test does not know fails until it is taught how to fill it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import URLPattern, reverse
from django.utils import timezone
from oscar.core.loading import get_model

from marketplace.order.models import ShopOrder, ShopOrderEvent
from shops.console import urls as console_urls
from shops.orchard.models import Alert, AlertRule, Device, Plot
from shops.orchard.services import alert_rule_add, device_add
from shops.photos import product_photo_add
from shops.settlement.services import statements_generate
from tests.shops.console.test_console import jpeg_bytes

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")
Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db

# URL arguments that name one of a shop's objects, and how to take shop A's.
OBJECT_ARGUMENTS = {
    "pk": lambda a: a["product"].pk,
    "photo_pk": lambda a: a["photo"].pk,
    "number": lambda a: a["shop_order"].number,
    "statement": lambda a: a["statement"].number,
    "plot": lambda a: a["plot"].pk,
    "device": lambda a: a["device"].pk,
    "rule": lambda a: a["rule"].pk,
    "alert": lambda a: a["alert"].pk,
}
# URL arguments that name no object (a file type, a metric): any valid value will do.
PLAIN_ARGUMENTS = {"kind": "xlsx", "metric": "air_temp_c"}


def console_patterns() -> list[URLPattern]:
    return [p for p in console_urls.urlpatterns if isinstance(p, URLPattern)]


def shop_a_rows(shop) -> dict:
    """Everything of shop A a console action could change."""
    return {
        "shop": model_to_dict(Partner.objects.get(pk=shop.pk), exclude=["users", "cover"]),
        "products": [
            model_to_dict(
                p, exclude=["categories", "certifications", "product_options", "recommended_products"]
            )
            for p in Product.objects.filter(shop=shop).order_by("pk")
        ],
        "stock": list(StockRecord.objects.filter(partner=shop).order_by("pk").values()),
        "photos": list(ProductImage.objects.filter(product__shop=shop).order_by("pk").values()),
        "shop_orders": list(ShopOrder.objects.filter(shop=shop).order_by("pk").values()),
        "events": ShopOrderEvent.objects.filter(shop_order__shop=shop).count(),
        "plots": list(Plot.objects.filter(shop=shop).order_by("pk").values()),
        "devices": list(Device.objects.filter(plot__shop=shop).order_by("pk").values()),
        "rules": list(AlertRule.objects.filter(plot__shop=shop).order_by("pk").values()),
        "alerts": list(Alert.objects.filter(rule__plot__shop=shop).order_by("pk").values()),
    }


def test_every_console_url_with_shop_a_ids_is_404_for_shop_b_and_changes_nothing(shop_a, shop_b, paid_order):
    photo = product_photo_add(
        product=shop_a.product,
        upload=SimpleUploadedFile("peach.jpg", jpeg_bytes(), content_type="image/jpeg"),
    )
    plot = Plot.objects.create(shop=shop_a.shop, name="东坡一号地")
    rule = alert_rule_add(plot=plot, preset="frost")
    a_ids = {
        "plot": plot,
        "device": device_add(plot=plot, device_id="ya-0001", kind=Device.Kind.COMBINED),
        "rule": rule,
        "alert": Alert.objects.create(
            rule=rule, day=timezone.localdate(), measured_at=timezone.now(), value=-1.0
        ),
        "product": shop_a.product,
        "photo": photo,
        "shop_order": paid_order.shop_orders.get(shop=shop_a.shop),
        # This month's draft settlement statement of shop A (shops.settlement).
        "statement": next(
            s for s in statements_generate(month=timezone.localdate()) if s.shop_id == shop_a.shop.pk
        ),
    }
    before = shop_a_rows(shop_a.shop)
    # What a tampering farmer would post: shop A's ids in every field a console form reads.
    data = {
        "shop": shop_a.shop.pk,
        "photo": [photo.pk],
        "price": "1.00",
        "stock": "0",
        "reason": "不卖了",
        "parcel_count": "1",
        "parcel_weight_kg": "1",
        "token": "x",
        "title": "篡改",
        "name": "篡改",
        "device_id": "stolen-1",
        "kind": "soil",
        "preset": "frost",
    }

    walked_with_ids = 0
    for pattern in console_patterns():
        arguments = pattern.pattern.converters
        kwargs = {}
        for name in arguments:
            if name in OBJECT_ARGUMENTS:
                kwargs[name] = OBJECT_ARGUMENTS[name](a_ids)
            elif name in PLAIN_ARGUMENTS:
                kwargs[name] = PLAIN_ARGUMENTS[name]
            else:
                pytest.fail(f"console URL {pattern.name!r} takes {name!r}: teach this test whose id that is")
        url = reverse(f"console:{pattern.name}", kwargs=kwargs)
        get = shop_b.client.get(url)
        post = shop_b.client.post(url, data)
        if set(kwargs) & set(OBJECT_ARGUMENTS):
            walked_with_ids += 1
            assert get.status_code in (403, 404), f"GET {url} answered {get.status_code}"
            assert post.status_code in (403, 404), f"POST {url} answered {post.status_code}"
        else:
            # Pages about the farmer's own shop: whatever they answer, shop A is untouched.
            assert get.status_code in (200, 302, 404, 405), f"GET {url} answered {get.status_code}"
        assert shop_a_rows(shop_a.shop) == before, f"{url} changed shop A's rows"

    assert walked_with_ids >= 20  # every listing, photo, order and orchard page was walked


def test_switching_to_a_shop_the_farmer_does_not_farm_for_is_404(shop_a, shop_b):
    response = shop_b.client.post(reverse("console:switch"), {"shop": shop_a.shop.pk})
    assert response.status_code == 404
    home = shop_b.client.get(reverse("console:home"))
    assert home.context["shop"] == shop_b.shop


def test_a_shop_a_upload_to_shop_a_listing_by_shop_b_is_refused_and_saves_nothing(shop_a, shop_b):
    url = reverse("console:photo-upload", kwargs={"pk": shop_a.product.pk})
    response = shop_b.client.post(url, {"photos": SimpleUploadedFile("x.jpg", jpeg_bytes(), "image/jpeg")})
    assert response.status_code == 404
    assert not ProductImage.objects.exists()
