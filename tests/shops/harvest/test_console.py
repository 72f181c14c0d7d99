"""The farmer records a harvest batch from the console and sees what is left of it."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import UserFactory
from PIL import Image

from shops.harvest.models import HarvestBatch
from shops.orchard.models import Plot
from shops.services import farmer_attach
from tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

BATCH_LIST_BUDGET = 10


@pytest.fixture
def farm(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    shop = ShopFactory(name="桃源果园")
    farmer = UserFactory(email="zhou@farm.example.cn")
    farmer_attach(shop=shop, user=farmer)
    client.force_login(farmer)
    peaches = ProductFactory(
        shop=shop, title="阳山水蜜桃 6只装", net_weight_g=2500, stock=(Decimal("98"), 10)
    )
    plot = Plot.objects.create(shop=shop, name="东坡一号")
    return shop, peaches, plot


def jpeg(name: str = "crate.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (230, 140, 120)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def form(peaches, plot) -> dict:
    """The batch form as a farmer fills it in."""
    return {
        "products": [peaches.pk],
        "plot": plot.pk,
        "picked_on": timezone.localdate().isoformat(),
        "quantity_kg": "120.5",
        "grade": "premium",
        "brix": "13.5",
        "note": "雨后第二天采",
    }


def test_the_farmer_records_a_batch_with_a_photo_and_sees_it(client, farm):
    shop, peaches, plot = farm
    response = client.post(reverse("console:harvest-create"), {**form(peaches, plot), "photos": [jpeg()]})
    assert response.status_code == 302
    batch = HarvestBatch.objects.get()
    assert (batch.shop, batch.plot, batch.quantity_g, batch.brix) == (shop, plot, 120500, Decimal("13.5"))
    assert list(batch.products.all()) == [peaches]
    assert batch.photos.count() == 1
    page = client.get(reverse("console:harvest")).content.decode()
    assert batch.number in page
    assert "东坡一号" in page


def test_another_shops_listing_or_plot_is_not_a_choice(client, farm):
    _shop, peaches, plot = farm
    other = ShopFactory(name="龙谷茶舍")
    their_tea = ProductFactory(shop=other, net_weight_g=250)
    their_plot = Plot.objects.create(shop=other, name="茶园")
    for changes in ({"products": [their_tea.pk]}, {"plot": their_plot.pk}):
        response = client.post(reverse("console:harvest-create"), {**form(peaches, plot), **changes})
        assert response.status_code == 200
        assert response.context["form"].errors
    assert not HarvestBatch.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity_kg": "0"},
        {"quantity_kg": "abc"},
        {"brix": "55"},
        {"picked_on": "2999-01-01"},
        {"products": []},
    ],
    ids=["zero kg", "not a number", "brix too high", "future", "no listing"],
)
def test_bad_input_gets_a_clear_error_and_records_nothing(client, farm, changes):
    _shop, peaches, plot = farm
    response = client.post(reverse("console:harvest-create"), {**form(peaches, plot), **changes})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="c-error"' in page or "c-msg--error" in page
    assert not HarvestBatch.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused(client, farm):
    _shop, peaches, plot = farm
    fake = SimpleUploadedFile("crate.jpg", b"not an image", content_type="image/jpeg")
    response = client.post(reverse("console:harvest-create"), {**form(peaches, plot), "photos": [fake]})
    assert response.status_code == 200
    assert response.context["form"].errors["photos"]
    assert not HarvestBatch.objects.exists()


def batch_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("console:harvest")).status_code == 200
    return len(queries.captured_queries)


def test_the_batch_list_query_count_does_not_grow(client, farm):
    _shop, peaches, plot = farm
    client.post(reverse("console:harvest-create"), form(peaches, plot))
    one = batch_list_queries(client)
    for _ in range(8):
        client.post(reverse("console:harvest-create"), form(peaches, plot))
    assert HarvestBatch.objects.count() == 9
    assert batch_list_queries(client) == one <= BATCH_LIST_BUDGET


def test_the_orchard_tab_leads_to_the_harvest_batches(client, farm):
    page = client.get(reverse("console:orchard-plots")).content.decode()
    assert f'href="{reverse("console:harvest")}"' in page
