"""The demo: its orchards' batches are recorded before the demo orders, so the demo parcels' lines draw
from them and their trace pages show where and when the produce was picked."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from fixtures.orders import demo_orders_place
from shops.harvest.models import HarvestBatch, LineDraw, ParcelTrace

pytestmark = pytest.mark.django_db


def test_demo_parcels_are_traced_to_their_batches(
    client, settings, tmp_path, stripe_settings, localstripe, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo_load", stdout=io.StringIO())
    assert HarvestBatch.objects.count() == 5
    call_command("demo_load", stdout=io.StringIO())  # again: no batch twice
    assert HarvestBatch.objects.count() == 5
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's follow-ups of each payment
        demo_orders_place()
    assert LineDraw.objects.exists()
    drawn = ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__isnull=False).first()
    page = client.get(reverse("harvest:trace", kwargs={"code": drawn.code})).content.decode()
    assert 'data-testid="trace-batch"' in page
    assert 'data-testid="trace-season"' in page  # the simulated season of the demo's sensors
