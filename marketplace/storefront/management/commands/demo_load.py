"""``manage.py demo_load``: load the demo shops, produce, places and accounts (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from fixtures.applications import applications_demo
from fixtures.listing_review import listing_review_demo
from fixtures.loader import DemoDataError, demo_load


class Command(BaseCommand):
    help = "Load or update the demo data (shops, products, regions, accounts, photos); safe to run again."

    def handle(self, *args, **options) -> None:
        try:
            summary = demo_load()
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(summary))
        self.stdout.write(str(listing_review_demo()))
        self.stdout.write(str(applications_demo()))
