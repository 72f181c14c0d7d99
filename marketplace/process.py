"""What a long-lived process that serves requests does once it has loaded."""

import gc


def start_up_done() -> None:
    """Take every object the process holds now (Django, Oscar, the URL and template modules, the search
    dictionary: about 470,000 objects) out of the garbage collector's generations (``gc.freeze``). They
    live as long as the process, yet each full collection scanned them all: ~150 ms, and a page that
    makes thousands of objects (the sales review by product) set one off every dozen requests, its p95
    twice its p50 (docs/performance.md). A full collection now scans only what was made since."""
    gc.freeze()
