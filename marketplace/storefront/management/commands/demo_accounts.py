"""``manage.py demo_accounts``: print the demo sign-ins (role, email, password, shop) from the fixtures."""

import unicodedata

from django.core.management.base import BaseCommand

from fixtures.loader import demo_accounts


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Print the demo accounts and their passwords (demo data only, never a real deployment)."

    def handle(self, *args, **options) -> None:
        rows = [("role", "email", "password", "shop")]
        rows += [
            (
                a.role,
                a.email,
                a.password,
                f"{a.shop_name} ({a.shop_code}, {a.shop_status})" if a.shop_code else "",
            )
            for a in demo_accounts()
        ]
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("Demo accounts (sign in with the email):")
        for row in rows:
            self.stdout.write("  ".join([*(_pad(row[i], widths[i]) for i in range(3)), row[3]]).rstrip())
