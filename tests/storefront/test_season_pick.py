"""The home page's "fresh this season" list is kept (marketplace/storefront/season_pick.py): read as kept,
picked again by every catalogue change, and picked afresh when a month comes."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.storefront.models import SeasonPick
from marketplace.storefront.season_pick import season_pick
from marketplace.storefront.selectors import products_in_season
from shops.listings import listing_pause
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def november(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2026, 11, 22))


def test_the_pick_is_the_selectors_order_kept_and_then_read_with_one_query(november):
    winter = ProductFactory(title="冬笋", harvest_start_month=11, harvest_end_month=2)
    year_round = ProductFactory(title="黑猪肉", harvest_start_month=1, harvest_end_month=12)
    ProductFactory(title="水蜜桃", harvest_start_month=7, harvest_end_month=8)
    assert season_pick() == products_in_season() == [winter.pk, year_round.pk]
    assert SeasonPick.objects.get(month=11).product_ids == [winter.pk, year_round.pk]
    with CaptureQueriesContext(connection) as queries:
        assert season_pick() == [winter.pk, year_round.pk]
    assert len(queries) == 1


def test_a_catalogue_change_picks_again(november, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        winter = ProductFactory(title="冬笋", harvest_start_month=11, harvest_end_month=2)
    assert season_pick() == [winter.pk]
    with django_capture_on_commit_callbacks(execute=True):
        tangerine = ProductFactory(title="椪柑", harvest_start_month=11, harvest_end_month=12)
    assert season_pick() == [tangerine.pk, winter.pk]  # one month of harvest before four
    with django_capture_on_commit_callbacks(execute=True):
        listing_pause(product=winter)
    assert season_pick() == [tangerine.pk]


def test_a_new_month_is_picked_afresh_and_the_old_one_dropped(monkeypatch, november):
    winter = ProductFactory(title="冬笋", harvest_start_month=11, harvest_end_month=2)
    ProductFactory(title="水蜜桃", harvest_start_month=7, harvest_end_month=8)
    assert season_pick() == [winter.pk]
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2027, 3, 1))
    assert season_pick() == []
    assert list(SeasonPick.objects.values_list("month", flat=True)) == [3]
