"""People's names as their language writes them: 郑晓梅, not "晓梅 郑"; Ada Lovelace as she is."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from marketplace.i18n import person_name
from shops.association.audit import audit_record
from tests.factories import ShopFactory, association_member


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [("晓梅", "郑", "郑晓梅"), ("Ada", "Lovelace", "Ada Lovelace"), ("小雨", "", "小雨"), ("", "", "")],
)
def test_person_name(first, last, shown):
    assert person_name(first, last) == shown


@pytest.mark.django_db
def test_every_page_that_names_a_person_writes_a_chinese_name_family_name_first():
    staff = association_member()
    staff.first_name, staff.last_name = "晓梅", "郑"
    staff.save()
    assert get_user_model().objects.get(pk=staff.pk).get_full_name() == "郑晓梅"
    audit_record(actor=staff, action="shop.suspend", subject=ShopFactory(), reason="抽检不合格")
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("association:audit")).content.decode()
    assert "郑晓梅" in page
    assert "晓梅 郑" not in page
