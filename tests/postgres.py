"""Tests that need PostgreSQL's real concurrent transactions (or its column types): skipped on SQLite,
and failed instead when REQUIRE_POSTGRES=1 (CI's PostgreSQL run), so they can never be skipped there."""

import os

import pytest
from django.db import connection


def postgresql_only(
    reason: str = "real concurrent transactions need PostgreSQL", what: str = "this race test"
) -> None:
    if connection.vendor == "postgresql":
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{what} must run on PostgreSQL")
    pytest.skip(reason)
