"""Issue an API token for a logistics partner: ``manage.py logistics_token_issue <partner code> --label …``.
The key is printed once; only its digest is kept."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from logistics.models import LogisticsPartner
from logistics.services import partner_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a logistics partner and print its key (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_code", help="the partner's code, e.g. express-national")
        parser.add_argument("--label", default="", help="what the token is for, e.g. the partner's system")

    def handle(self, *args: Any, partner_code: str, label: str, **options: Any) -> None:
        try:
            partner = LogisticsPartner.objects.get(code=partner_code)
        except LogisticsPartner.DoesNotExist:
            raise CommandError(f"no logistics partner with code {partner_code!r}") from None
        key = partner_token_issue(partner=partner, label=label)
        self.stderr.write(
            f"Token for {partner.code} ({partner.name}). Keep it safe: it is not stored and will not be "
            "shown again. Send it as the header  Authorization: Token <key>"
        )
        self.stdout.write(key)
