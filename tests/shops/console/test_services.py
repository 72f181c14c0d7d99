import pytest
from django.contrib.auth import get_user_model
from oscar.core.loading import get_model

from shops.models import ShopStatusEvent
from shops.services import ShopStatusError, shop_status_change
from tests.factories import ShopFactory

Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db


def test_approving_an_applied_shop_records_who_and_sets_the_join_date():
    staff = get_user_model().objects.create_user("assoc", "assoc@example.cn", "x", is_staff=True)
    shop = ShopFactory(status=Partner.Status.APPLIED, joined_on=None)

    event = shop_status_change(shop_id=shop.pk, to_status="approved", actor=staff, reason="资料齐全")

    shop.refresh_from_db()
    assert shop.status == "approved"
    assert shop.joined_on is not None
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        "applied",
        "approved",
        staff,
        "资料齐全",
    )


def test_suspend_and_reinstate_keep_the_first_join_date_and_every_event():
    shop = ShopFactory(status=Partner.Status.APPLIED, joined_on=None)
    shop_status_change(shop_id=shop.pk, to_status="approved")
    joined = Partner.objects.get(pk=shop.pk).joined_on
    shop_status_change(shop_id=shop.pk, to_status="suspended", reason="投诉")
    shop_status_change(shop_id=shop.pk, to_status="approved")

    shop.refresh_from_db()
    assert shop.joined_on == joined
    moves = list(ShopStatusEvent.objects.filter(shop=shop).values_list("from_status", "to_status"))
    assert moves == [("applied", "approved"), ("approved", "suspended"), ("suspended", "approved")]


@pytest.mark.parametrize(
    ("start", "target"), [("applied", "suspended"), ("approved", "applied"), ("approved", "approved")]
)
def test_moves_outside_the_table_are_refused_and_change_nothing(start, target):
    shop = ShopFactory(status=start)
    with pytest.raises(ShopStatusError):
        shop_status_change(shop_id=shop.pk, to_status=target)
    shop.refresh_from_db()
    assert shop.status == start
    assert not ShopStatusEvent.objects.filter(shop=shop).exists()
