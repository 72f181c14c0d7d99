"""WCAG 2.1 AA on every kind of page (issue 15, point 2): axe-core (npm, installed by `make test-e2e` and
.ci/run into var/node/) runs in Chromium on the storefront, the basket and checkout, and each workspace,
at a phone's and a desktop's width; no critical and no serious violation is allowed, and none at all of the
structure rules axe files under best practice (one <main>, content inside landmarks, one h1 and headings in
order, scrollable regions reachable by keyboard).

The phone walk goes through every page in Chinese and in English and keeps a screenshot of each
(var/screenshots/<page kind>-<language>-390.png, git-ignored); the desktop walk is in Chinese.

axe is injected into the page, which our Content-Security-Policy would refuse (it is a script the page
did not name), so these tabs bypass the policy; the other browser tests check the policy itself."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from oscar.core.loading import get_model

from fixtures.orders import BUYER, demo_address, order_place_paid
from shops.harvest.models import ParcelTrace
from shops.orchard.models import Plot
from tests.e2e.conftest import SCREENSHOT_DIR, VIEWPORTS
from tests.e2e.test_association_pages import workspace_pages
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (the fixtures)

Partner = get_model("partner", "Partner")
User = get_user_model()
Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("AXE_CORE_JS", REPO / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Best-practice rules about the page's structure: any violation of these fails, whatever axe's impact.
STRUCTURE_RULES = [
    "landmark-one-main",
    "region",
    "page-has-heading-one",
    "heading-order",
    "scrollable-region-focusable",
]
STOREFRONT = [
    ("home", "/"),
    ("catalogue", "/catalogue/"),
    ("search", "/search/?q=%E6%A1%83"),
    ("search-latin", "/search/?q=peach"),
    ("shops", "/shops/"),
    ("shop", "/shops/taoyuan-peach-farm/"),
    ("places", "/places/"),
    ("login", "/accounts/login/"),
    ("open-a-shop", "/open-a-shop/"),
    ("open-data", "/open-data/"),
]


@pytest.fixture
def traced_parcel(demo_server, stripe_settings) -> str:  # noqa: F811  (the imported fixture)
    """A paid demo parcel whose line drew from its shop's harvest batch: the path of its trace page (the
    QR code on its packing slip). One box from the Chens' orchard, so the walked console (the Taoyuan
    farm's) is as the demo left it."""
    order_place_paid(buyer=User.objects.get(email=BUYER), address=demo_address(), lines={"YS-CJ-BF-12": 1})
    trace = ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__isnull=False).get()
    return reverse("harvest:trace", kwargs={"code": trace.code})


def storefront_pages(trace_path: str) -> list[tuple[str, str]]:
    """(page kind, path) of the storefront's pages a visitor reaches without signing in."""
    shop = Partner.objects.get(code="taoyuan-peach-farm")
    product = Product.objects.filter(shop=shop).exclude(stockrecords=None).order_by("pk")[0]
    category = product.categories.order_by("-depth")[0]
    return [
        *STOREFRONT,
        ("category", category.get_absolute_url()),
        ("place", reverse("storefront:place", args=[shop.county_id])),
        ("trace", trace_path),
        ("product", product.get_absolute_url()),  # last: the walk puts it in the basket
    ]


def workspaces() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each demo workspace account's (page kind, path): every page of the association's (as its phone test
    lists them), the console's tabs, a listing's form and photos, the orchard's and harvest's pages, and
    the partner portal."""
    listing = Product.objects.filter(shop__code="taoyuan-peach-farm").order_by("pk")[0]
    plot = Plot.objects.filter(shop__code="taoyuan-peach-farm").order_by("pk")[0]
    console = [
        (f"console-{name}", reverse(f"console:{name}"))
        for name in ("home", "listings", "listing-create", "orders", "picking", "sales", "statements")
    ]
    console += [
        ("console-listing", reverse("console:listing-edit", args=[listing.pk])),
        ("console-photos", reverse("console:listing-photos", args=[listing.pk])),
        ("console-orchard", reverse("console:orchard-plots")),
        ("console-plot", reverse("console:orchard-plot", args=[plot.pk])),
        ("console-rules", reverse("console:orchard-rules", args=[plot.pk])),
        ("console-alerts", reverse("console:orchard-alerts")),
        ("console-harvest", reverse("console:harvest")),
        ("console-harvest-new", reverse("console:harvest-create")),
    ]
    return {
        ("association@demo.xiangwei.cn", "demo-assoc-2026"): [
            (f"association-{label}", path) for label, path in workspace_pages()
        ],
        ("farmer.taoyuan-peach-farm@demo.xiangwei.cn", "demo-farmer-2026"): console,
        ("hub.yangshan@demo.xiangwei.cn", "demo-logistics-2026"): [
            ("portal", reverse("logistics_portal:home"))
        ],
    }


def violations(page) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async ([tags, structure]) => {
            // One run: the WCAG rules by tag, and the structure rules enabled by name besides.
            const rules = Object.fromEntries(structure.map(id => [id, {enabled: true}]));
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, rules});
            return result.violations
                .filter(v => v.impact === "critical" || v.impact === "serious" || structure.includes(v.id))
                .map(v => v.impact + " " + v.id + ": "
                    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }""",
        [RULES, STRUCTURE_RULES],
    )
    return [f"{page.url}: {line}" for line in found]


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login-username", email)
    page.fill("#id_login-password", password)
    with page.expect_navigation():
        page.locator("button[name=login_submit]").click()
    assert "/accounts/login/" not in page.url, f"{email} was not signed in: " + page.inner_text("main")[:600]


class Walk:
    """One tab per signed-in person at one viewport and language, checking each page with axe and, at the
    phone's width, keeping its screenshot."""

    def __init__(self, browser, base: str, viewport: str, language: str) -> None:
        self.browser, self.base, self.viewport, self.language = browser, base, viewport, language
        self.found: list[str] = []

    def tab(self):
        context = self.browser.new_context(viewport=VIEWPORTS[self.viewport], bypass_csp=True)
        if self.language == "en":
            context.add_cookies([{"name": "django_language", "value": "en", "url": self.base}])
        return context, context.new_page()

    def check(self, page, kind: str) -> None:
        self.found += violations(page)
        if self.viewport == "phone":
            width = VIEWPORTS["phone"]["width"]
            page.screenshot(path=str(SCREENSHOT_DIR / f"{kind}-{self.language}-{width}.png"), full_page=True)

    def visit(self, page, kind: str, path: str) -> None:
        assert page.goto(f"{self.base}{path}").status == 200, path
        self.check(page, kind)


@pytest.mark.parametrize(
    ("viewport", "language"), [("phone", "zh-hans"), ("phone", "en"), ("desktop", "zh-hans")]
)
def test_every_kind_of_page_has_no_serious_accessibility_violation(
    demo_server, traced_parcel, browser, viewport, language
):
    assert AXE.exists(), f"axe-core is not installed at {AXE}: run `make test-e2e` (npm install axe-core)"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    walk = Walk(browser, demo_server, viewport, language)

    context, page = walk.tab()
    for kind, path in storefront_pages(traced_parcel):
        walk.visit(page, kind, path)
    with page.expect_navigation():
        page.locator("#add_to_basket_form button[type=submit]").click()
    for kind, path in (("basket", "/basket/"), ("checkout", "/checkout/")):
        walk.visit(page, kind, path)
    context.close()

    for (email, password), pages in workspaces().items():
        context, page = walk.tab()
        sign_in(page, demo_server, email, password)
        for kind, path in pages:
            walk.visit(page, kind, path)
        context.close()

    assert not walk.found, "\n".join(walk.found)
