"""The lock order names real models, refuses a model it does not place, and the lint finds a stray lock."""

import pytest
from django.apps import apps
from oscar.core.loading import get_model

from devtools import check_locks
from marketplace.locks import LOCK_ORDER, LockOrderError, for_update


def test_every_model_in_the_lock_order_exists():
    for label in LOCK_ORDER:
        assert apps.get_model(label) is not None, label


def test_a_model_without_a_place_in_the_order_cannot_be_locked():
    with pytest.raises(LockOrderError):
        for_update(get_model("address", "Country").objects.all())


def test_locks_are_taken_in_primary_key_order(db):
    sql = str(for_update(get_model("order", "ShopOrder").objects.filter(status="paid")).query)
    assert 'ORDER BY "shops_shoporder"."id" ASC' in sql


def test_the_lint_refuses_a_lock_outside_the_locks_module(tmp_path, monkeypatch):
    stray = tmp_path / "shops" / "stray.py"
    stray.parent.mkdir()
    stray.write_text("def f(q):\n    return q.select_for_update()\n")
    for package in ("marketplace", "logistics", "fixtures"):
        (tmp_path / package).mkdir()
    monkeypatch.setattr(check_locks, "ROOT", tmp_path)
    assert check_locks.offences() == ["shops/stray.py:2: lock rows with marketplace.locks.for_update"]
    monkeypatch.undo()
    assert check_locks.offences() == []
