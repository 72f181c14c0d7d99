"""``manage.py logistics_route_stuck``: route paid shop orders that have no route or need routing."""

from typing import Any

from django.core.management.base import BaseCommand

from logistics.operations import consignments_stuck_route


class Command(BaseCommand):
    help = "Re-run routing for paid shop orders without a consignment and consignments that need routing."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = consignments_stuck_route()
        self.stdout.write(
            ", ".join(f"{status}: {n}" for status, n in sorted(outcome.items())) or "nothing stuck"
        )
