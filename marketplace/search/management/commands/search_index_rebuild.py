"""``manage.py search_index_rebuild``: rewrite the search index of every product (or of some), in
batches, and say how fast it went."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from marketplace.search.indexing import BULK_BATCH_SIZE, products_index


class Command(BaseCommand):
    help = (
        "Rebuild the storefront's search index (all products, or those named) in batches; prints products/s."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("product_ids", nargs="*", type=int, help="only these products (default: all)")
        parser.add_argument(
            "--batch-size", type=int, default=BULK_BATCH_SIZE, help="products per transaction"
        )

    def handle(self, *args: Any, product_ids: list[int], batch_size: int, **options: Any) -> None:
        started, cpu_started = time.monotonic(), time.process_time()
        count = products_index(product_ids=product_ids or None, batch_size=batch_size)
        seconds = time.monotonic() - started
        rate = count / seconds if seconds > 0 else 0.0
        # On a shared machine the wall-clock rate moves with the load; this process's CPU time less so
        # (on SQLite it includes the database's work, on PostgreSQL not the server's).
        self.stdout.write(
            f"indexed {count:,} products in {seconds:.1f} s ({rate:,.0f} products/s, {connection.vendor}; "
            f"{time.process_time() - cpu_started:.1f} s CPU in this process)"
        )
