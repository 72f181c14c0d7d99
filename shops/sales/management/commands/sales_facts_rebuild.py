"""``manage.py sales_facts_rebuild [--since DATE] [--until DATE]``: rebuild the daily sales facts from the
shop orders and refunds (all history by default). Idempotent."""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shops.sales.facts import sales_facts_rebuild


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from error


class Command(BaseCommand):
    help = "Rebuild the sales review's daily facts from the orders and refunds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_date, help="first day to rebuild (default: the first sale)")
        parser.add_argument("--until", type=_date, help="last day to rebuild (default: today)")

    def handle(
        self,
        *args: Any,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        **options: Any,
    ) -> None:
        if since and until and since > until:
            raise CommandError("--since is after --until")
        days = sales_facts_rebuild(since=since, until=until)
        self.stdout.write(f"sales facts rebuilt: {days} days")
