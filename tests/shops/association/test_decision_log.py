"""The decision log reads as decisions, in the reader's language, not as codes (``payout_account.set``)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shops.association.audit import audit_record
from shops.association.models import AUDIT_ACTIONS
from tests.factories import ShopFactory, association_member

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
RECORDED = re.compile(r'action="([a-z_]+\.[a-z_]+)"')


def actions_in_the_code() -> set[str]:
    found: set[str] = set()
    for package in ("marketplace", "shops", "logistics"):
        for path in (REPO / package).rglob("*.py"):
            found |= set(RECORDED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_decision_the_code_records_has_a_label_in_both_languages():
    recorded = actions_in_the_code()
    assert "payout_account.set" in recorded  # the scan finds them
    assert recorded <= set(AUDIT_ACTIONS), recorded - set(AUDIT_ACTIONS)
    for code, label in AUDIT_ACTIONS.items():
        with translation.override("zh-hans"):
            chinese = str(label)
        with translation.override("en"):
            english = str(label)
        assert re.search(r"[\u4e00-\u9fff]", chinese), (code, chinese)
        assert not re.search(r"[\u4e00-\u9fff]", english), (code, english)


def test_the_log_shows_the_decision_not_its_code():
    staff = association_member()
    audit_record(
        actor=staff, action="payout_account.set", subject=ShopFactory(name="桃源果园"), reason="新账户"
    )
    client = Client()
    client.force_login(staff)
    for language, label in (("zh-hans", "收款账户已设置"), ("en", "Payout account set")):
        client.cookies["django_language"] = language
        page = client.get(reverse("association:audit")).content.decode()
        table = page[page.index('data-testid="audit-table"') :]
        assert ">payout_account.set<" not in table
        assert label in table, language
