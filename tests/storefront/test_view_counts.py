"""Product views and additions to baskets reach Oscar's analytics in batches, off the request path, and
none is lost."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.storefront import analytics
from tests.factories import ProductFactory

ProductRecord = get_model("analytics", "ProductRecord")
UserProductView = get_model("analytics", "UserProductView")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_buffer(monkeypatch):
    monkeypatch.setattr(analytics, "buffer", analytics.ViewBuffer())


def views_of(product) -> int:
    record = ProductRecord.objects.filter(product=product).first()
    return record.num_views if record else 0


def test_anonymous_views_are_written_once_per_batch(client, settings, django_capture_on_commit_callbacks):
    settings.ANALYTICS_VIEW_BATCH = 3
    peach, tea = ProductFactory(), ProductFactory(title="龙谷丽人茶")

    with django_capture_on_commit_callbacks(execute=True):
        client.get(peach.get_absolute_url())
        client.get(tea.get_absolute_url())
    assert (views_of(peach), views_of(tea)) == (0, 0)  # still in the batch

    with django_capture_on_commit_callbacks(execute=True):
        client.get(peach.get_absolute_url())  # third view: the batch goes
    assert (views_of(peach), views_of(tea)) == (2, 1)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            client.get(peach.get_absolute_url())
    assert views_of(peach) == 5


def test_a_signed_in_buyers_view_is_recorded_at_once(client, django_user_model):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    client.force_login(buyer)
    peach = ProductFactory()
    client.get(peach.get_absolute_url())
    assert views_of(peach) == 1
    assert UserProductView.objects.filter(user=buyer, product=peach).exists()


def test_adding_counts_creates_or_increments_records():
    peach = ProductFactory()
    analytics.product_views_add(counts={peach.pk: 4})
    analytics.product_views_add(counts={peach.pk: 3})
    assert views_of(peach) == 7


def test_views_of_a_product_deleted_before_the_batch_are_dropped_and_the_rest_written(
    client, settings, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_VIEW_BATCH = 3
    peach, gone = ProductFactory(), ProductFactory(title="下架的桃")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(gone.get_absolute_url())
        client.get(peach.get_absolute_url())
    gone_id = gone.pk
    gone.stockrecords.all().delete()
    gone.delete()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(peach.get_absolute_url())  # the batch goes, with the deleted product's view

    assert response.status_code == 200
    assert views_of(peach) == 2
    assert not ProductRecord.objects.filter(product_id=gone_id).exists()


def additions_of(product) -> int:
    record = ProductRecord.objects.filter(product=product).first()
    return record.num_basket_additions if record else 0


def test_anonymous_additions_to_baskets_go_with_the_views_batch_off_the_request_path(
    client, settings, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_VIEW_BATCH = 4
    peach, tea = ProductFactory(), ProductFactory(title="龙谷丽人茶")
    add = reverse("basket:add", kwargs={"pk": peach.pk})
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as adding:
        client.get(tea.get_absolute_url())
        assert client.post(add, {"quantity": 1}).status_code == 302
        client.post(add, {"quantity": 2})
    assert (additions_of(peach), views_of(tea)) == (0, 0)  # still in the batch
    assert not [q for q in adding.captured_queries if "analytics_productrecord" in q["sql"]]

    with django_capture_on_commit_callbacks(execute=True):
        client.get(peach.get_absolute_url())  # the fourth count: the batch goes
    assert (additions_of(peach), views_of(peach), views_of(tea)) == (2, 1, 1)


def test_a_signed_in_buyers_addition_is_recorded_at_once(client, django_user_model):
    buyer = django_user_model.objects.create_user("buyer", "buyer@example.cn", "pw")
    client.force_login(buyer)
    peach = ProductFactory()
    client.post(reverse("basket:add", kwargs={"pk": peach.pk}), {"quantity": 1})
    assert additions_of(peach) == 1
    assert get_model("analytics", "UserRecord").objects.get(user=buyer).num_basket_additions == 1
