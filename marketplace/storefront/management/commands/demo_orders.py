"""``manage.py demo_orders``: the demo buyer's orders, paid at localstripe (which must be running)."""

from django.core.management.base import BaseCommand, CommandError

from fixtures.orders import DemoOrdersError, demo_orders_place
from fixtures.sales import demo_sales_facts
from fixtures.settlement import demo_settlement


class Command(BaseCommand):
    help = "Place and pay the demo orders once (needs localstripe, as `make demo` starts it)."

    def handle(self, *args, **options) -> None:
        try:
            placed = demo_orders_place()
        except DemoOrdersError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"demo orders placed: {placed}")
        self.stdout.write(f"sales facts rebuilt: {demo_sales_facts()} days")
        self.stdout.write(demo_settlement())
