"""WCAG 2.1 AA on every kind of page (issue 15, point 2): axe-core (npm, installed by `make test-e2e` and
.ci/run into var/node/) runs in Chromium on the storefront, the basket and checkout, and each workspace,
at a phone's and a desktop's width; no critical and no serious violation is allowed.

axe is injected into the page, which our Content-Security-Policy would refuse (it is a script the page
did not name), so these tabs bypass the policy; the other browser tests check the policy itself."""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from tests.e2e.conftest import VIEWPORTS
from tests.e2e.test_association_pages import workspace_pages

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("AXE_CORE_JS", REPO / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
STOREFRONT = ["/", "/catalogue/", "/search/?q=%E6%A1%83", "/search/?q=peach", "/shops/", "/accounts/login/",
              "/open-a-shop/", "/open-data/"]  # fmt: skip


def workspaces() -> dict[tuple[str, str], list[str]]:
    """Each demo workspace account's pages: every page of the association's (as its phone test lists
    them), the console's main tabs and the partner portal."""
    return {
        ("association@demo.xiangwei.cn", "demo-assoc-2026"): [path for _label, path in workspace_pages()],
        ("farmer.taoyuan-peach-farm@demo.xiangwei.cn", "demo-farmer-2026"): [
            reverse(f"console:{name}") for name in ("home", "listings", "orders", "sales")
        ],
        ("hub.yangshan@demo.xiangwei.cn", "demo-logistics-2026"): [reverse("logistics_portal:home")],
    }


def violations(page) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async (rules) => {
            const result = await axe.run(document, {runOnly: rules});
            return result.violations
                .filter(v => v.impact === "critical" || v.impact === "serious")
                .map(v => v.impact + " " + v.id + ": "
                    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }""",
        RULES,
    )
    return [f"{page.url}: {line}" for line in found]


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login-username", email)
    page.fill("#id_login-password", password)
    with page.expect_navigation():
        page.locator("button[name=login_submit]").click()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_kind_of_page_has_no_serious_accessibility_violation(demo_server, browser, viewport):
    assert AXE.exists(), f"axe-core is not installed at {AXE}: run `make test-e2e` (npm install axe-core)"
    base = demo_server
    found: list[str] = []

    context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = context.new_page()
    for path in STOREFRONT:
        assert page.goto(f"{base}{path}").status == 200, path
        found += violations(page)
    product = page.goto(f"{base}/catalogue/") and page.locator("article.product-card a").first.get_attribute(
        "href"
    )
    assert page.goto(f"{base}{product}").status == 200
    found += violations(page)
    with page.expect_navigation():
        page.locator("#add_to_basket_form button[type=submit]").click()
    for path in ("/basket/", "/checkout/"):
        assert page.goto(f"{base}{path}").status == 200, path
        found += violations(page)
    context.close()

    for (email, password), paths in workspaces().items():
        context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
        page = context.new_page()
        sign_in(page, base, email, password)
        for path in paths:
            assert page.goto(f"{base}{path}").status == 200, path
            found += violations(page)
        context.close()

    assert not found, "\n".join(found)
