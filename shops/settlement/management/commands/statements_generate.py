"""``manage.py statements_generate [--month YYYY-MM]``: make or rebuild a month's draft statements."""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from marketplace.local_dates import month_before
from shops.settlement.services import StatementError, statements_generate


class Command(BaseCommand):
    help = "Generate (or rebuild the drafts of) the monthly settlement statements; last month by default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["month"]:
            try:
                month = datetime.date.fromisoformat(f"{options['month']}-01")
            except ValueError as error:
                raise CommandError("--month must be YYYY-MM") from error
        else:
            month = month_before(timezone.localdate())
        try:
            statements = statements_generate(month=month)
        except StatementError as error:
            raise CommandError(str(error)) from error
        for statement in statements:
            self.stdout.write(f"{statement.number} {statement.get_status_display()} {statement.payable}")
        self.stdout.write(f"{month:%Y-%m}: {len(statements)} statements")
