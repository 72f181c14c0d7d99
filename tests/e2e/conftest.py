"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server with the
demo data loaded. Run with `make test-e2e`; screenshots land in var/screenshots/ (git-ignored)."""

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command

from marketplace.storefront import analytics

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "var" / "screenshots"

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}

PRICE = re.compile(r"¥\s*([0-9][0-9,]*(?:\.[0-9]+)?)")


def price_in(text: str) -> Decimal:
    """The first ¥ amount in a piece of page text ("¥1,280.00 / 箱" → Decimal("1280.00"))."""
    match = PRICE.search(text)
    assert match, f"no ¥ amount in {text!r}"
    return Decimal(match.group(1).replace(",", ""))


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as mp:
        # Playwright's sync API keeps an asyncio loop running on the test thread, so Django would refuse
        # the test's own database work (loading the demo, flushing) as "async". That work never overlaps
        # with the browser: the test waits on every browser call.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory) -> None:
    """On SQLite, the browser tests' database is a file, not pytest-django's in-memory one.

    With an in-memory database the live server's threads and the test share one connection: two
    requests at once (a tab's lazy photos while the next form posts, a tab's poll) run their statements
    inside each other's transactions, and a request now and then fails with a 500 that production
    cannot have. With a file each thread has its own connection and SQLite's locks (WAL, IMMEDIATE
    transactions, a busy timeout: marketplace/settings.py) keep them apart, as in `make demo`.
    """
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("e2e-db") / "test.sqlite3")


@pytest.fixture
def demo_server(browser, live_server, settings, monkeypatch) -> str:
    """The live server's URL, with the demo data loaded into the (flushed) test database.

    ``live_server`` brings ``transactional_db``: the data is committed, so the server's threads see it
    (each with its own connection to the file database above). Photos go to the per-test
    MEDIA_ROOT set in tests/conftest.py; the live server does not serve media, so images may 404.
    """
    for cache in caches.all():
        cache.clear()  # sorl-thumbnail and Oscar keep keys to rows of the previous test's data
    # Anonymous product views wait in a process-wide batch: start it empty, like the data.
    monkeypatch.setattr(analytics, "buffer", analytics.ViewBuffer())
    call_command("demo_load", stdout=io.StringIO())
    return live_server.url


@dataclass
class Visit:
    """One browser tab at one viewport, that records server errors and the Content-Security-Policy's
    refusals, and numbers its screenshots."""

    page: object
    name: str
    server_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    step: int = 0

    def screenshot(self, label: str) -> Path:
        self.step += 1
        path = SCREENSHOT_DIR / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_server_error(self) -> None:
        assert not self.server_errors, f"the server answered with errors: {self.server_errors}"

    def assert_no_horizontal_scroll(self) -> None:
        widths = self.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{self.page.url} scrolls sideways: {widths[0]}px in {widths[1]}px"


@pytest.fixture
def open_visit(browser) -> Iterator[Callable[..., Visit]]:
    """Opens a Chinese-language tab at a named viewport; ``open_visit("phone", "buyer-phone")``. A test
    whose tabs logged a Content-Security-Policy refusal (an inline script without the nonce, an inline
    handler, a script or a call to an origin the policy does not name) fails when it ends."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    contexts = []
    visits: list[Visit] = []

    def open_(viewport: str, name: str, *, locale: str = "zh-CN") -> Visit:
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        visit = Visit(page=context.new_page(), name=name)

        def on_response(response) -> None:
            if response.status >= 500:
                visit.server_errors.append(f"{response.status} {response.request.method} {response.url}")

        def on_console(message) -> None:
            # Chromium words a refusal "… violates the following Content Security Policy directive …".
            if re.search(r"Content[ -]Security[ -]Policy", message.text, re.IGNORECASE):
                visit.csp_violations.append(f"{visit.page.url}: {message.text}")

        visit.page.on("response", on_response)
        visit.page.on("console", on_console)
        visits.append(visit)
        return visit

    yield open_
    for context in contexts:
        context.close()
    violations = [violation for visit in visits for violation in visit.csp_violations]
    if violations:
        pytest.fail("the Content-Security-Policy refused: " + "; ".join(violations), pytrace=False)
