"""Every kind of page, walked in each language as each kind of user, shows its interface in that language
(issue 15, point 1): in English no Chinese character, in Chinese no English words, outside the elements that
declare another language (a shop's or a product's Chinese name on an English page, a person's name; WCAG
3.1.2, Language of Parts).

What is read is what a person reads or hears: the text of the page and of its <title>, and the attributes
that are interface text (aria-label, title, alt, placeholder, a button's value); not scripts, styles,
other attributes, nor what a form field holds (a farmer's own description as typed). The world is the demo
(shops and produce with English names, the association, logistics partners) with its orders paid at
localstripe, so every console tab, statement and delivery leg has a row."""

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

from fixtures.orders import BUYER, demo_orders_place
from fixtures.sales import demo_sales_facts
from fixtures.settlement import demo_settlement
from logistics.models import LogisticsPartner
from marketplace.order.models import ShopOrder
from shops.association.models import ShopApplication
from shops.harvest.models import ParcelTrace
from shops.orchard.models import Plot
from shops.selectors import ORDER_TABS
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (the fixtures)

Category = get_model("catalogue", "Category")
CategoryStandard = get_model("association", "CategoryStandard")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
Region = get_model("places", "Region")
Statement = get_model("settlement", "Statement")
User = get_user_model()

pytestmark = pytest.mark.django_db

FARMER = "farmer.taoyuan-peach-farm@demo.xiangwei.cn"
ASSOCIATION = "association@demo.xiangwei.cn"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "wbr"}
UNREAD = {"script", "style", "template", "textarea"}  # code, and what a field holds
UI_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Not words: addresses, links, file names and codes (shop and partner codes, order numbers, SKUs).
NOT_WORDS = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?:https?://|www\.)\S+"  # link
    r"|[A-Za-z0-9]+(?:[-_./:][A-Za-z0-9]+)+"  # a code with separators: taoyuan-peach-farm, SO-2026-1, a.csv
    r"|\b[A-Za-z]+_"  # a code's prefix: acct_…
    r"|\b\w*\d\w*\b"  # a word with a digit: 4242, v3, 500g
)
LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
BETWEEN_WORDS = re.compile(r"^[\s,;:&/'’()·-]*$")  # what may sit between two words of one English phrase
# Latin words a Chinese page may show: brands and names of things written in Latin letters in Chinese too,
# units and acronyms a Chinese reader reads as they are.
ALLOWED_IN_CHINESE = {
    "Stripe", "WeChat", "Pay", "Alipay", "Visa", "Mastercard", "UnionPay", "Union",
    "CSV", "PDF", "JSON", "SVG", "API", "SKU", "UPC", "QR", "ID", "EN", "App", "Excel", "xlsx",
    "JPEG", "PNG", "WebP", "HEIC", "GIF", "MB", "KB", "Webhook", "HMAC", "SHA",
    "kg", "g", "ml", "km", "cm", "mm", "L", "x", "×",
}  # fmt: skip


def _primary(language: str) -> str:
    return language.strip().lower().split("-")[0]


class ReadText(HTMLParser):
    """Collects the text a reader meets on a page, as (where, text), leaving out elements whose ``lang``
    is not the page's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page_language = ""
        self.stack: list[tuple[str, bool]] = []  # (tag, left out)
        self.read: list[tuple[str, str]] = []
        self.marked: list[str] = []  # text in elements that declare another language

    def _left_out(self) -> bool:
        return self.stack[-1][1] if self.stack else False

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], *, closes: bool) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.page_language = _primary(values.get("lang", ""))
        left_out = self._left_out() or tag in UNREAD
        if "lang" in values and tag != "html":
            left_out = left_out or _primary(values["lang"]) != self.page_language
        if not left_out:
            for name in UI_ATTRIBUTES:
                if values.get(name, "").strip():
                    self.read.append((f"<{tag} {name}>", values[name]))
            if tag == "input" and values.get("type") in {"submit", "button", "reset"} and values.get("value"):
                self.read.append((f"<{tag} value>", values["value"]))
        if not closes and tag not in VOID:
            self.stack.append((tag, left_out))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, closes=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, closes=True)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        if not self._left_out():
            self.read.append((f"<{self.stack[-1][0] if self.stack else ''}>", data))
        elif not (self.stack and self.stack[-1][0] in UNREAD):
            self.marked.append(" ".join(data.split()))


def english_words(text: str) -> list[str]:
    """English on a Chinese page: a run of two or more Latin words, or one of three letters or more, unless
    every word of it is allowed."""
    text = NOT_WORDS.sub(" ", text)
    found: list[str] = []
    run: list[re.Match[str]] = []

    def close_run() -> None:
        if run and any(
            word.group() not in ALLOWED_IN_CHINESE and (len(run) > 1 or len(word.group()) > 2) for word in run
        ):
            found.append(text[run[0].start() : run[-1].end()])
        run.clear()

    for word in LATIN_WORD.finditer(text):
        if run and not BETWEEN_WORDS.match(text[run[-1].end() : word.start()]):
            close_run()
        run.append(word)
    close_run()
    return found


def wrong_language(html: str, language: str) -> tuple[str, list[str]]:
    """The page's declared language and what it shows in the other one."""
    reader = ReadText()
    reader.feed(html)
    reader.close()
    wrong = []
    for where, raw in reader.read:
        text = " ".join(raw.split())
        if where == "<title>":
            # A title cannot mark a part's language: a name in it passes when the page marks it elsewhere.
            for name in sorted(reader.marked, key=len, reverse=True):
                text = text.replace(name, " ")  # noqa: PLW2901
        if language == "en":
            if CJK.search(text):
                wrong.append(f"{where} {text[:80]!r}")
        else:
            wrong += [f"{where} {words!r} in {text[:80]!r}" for words in english_words(text)]
    return reader.page_language, wrong


@dataclass
class Walk:
    language: str
    problems: list[str] = field(default_factory=list)
    walked: int = 0

    def page(self, client: Client, label: str, path: str) -> None:
        response = client.get(path)
        self.walked += 1
        if response.status_code != 200:
            self.problems.append(f"{label} {path}: status {response.status_code}")
            return
        declared, wrong = wrong_language(response.content.decode(), self.language)
        if declared != self.language:
            self.problems.append(f"{label} {path}: <html lang> is {declared!r}")
        self.problems += [f"{label} {path}: {line}" for line in wrong]


def signed_in(email: str, language: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(email=email))
    if language == "en":
        client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def demo_world(stripe_settings, localstripe, django_capture_on_commit_callbacks) -> None:  # noqa: F811  (the imported fixtures)
    call_command("demo_load", stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):  # each payment's follow-ups (trace codes, draws)
        demo_orders_place()
    demo_sales_facts()
    demo_settlement()


def storefront_pages() -> list[tuple[str, str]]:
    product = Product.objects.filter(title_en__gt="").exclude(stockrecords=None).order_by("pk").first()
    chinese_only = Product.objects.filter(title_en="").exclude(stockrecords=None).order_by("pk").first()
    category = Category.objects.filter(depth=2).order_by("pk").first() or Category.objects.first()
    shop = Partner.objects.filter(code="taoyuan-peach-farm").get()
    place = shop.county
    pages = [
        ("home", "/"),
        ("catalogue", reverse("catalogue:index")),
        ("category", category.get_absolute_url()),
        ("product", product.get_absolute_url()),
        ("search", reverse("search:search") + "?q=%E6%A1%83"),
        ("search-english", reverse("search:search") + "?q=peach"),
        ("search-nothing", reverse("search:search") + "?q=zzzz"),
        ("shops", reverse("storefront:shop-list")),
        ("shop", reverse("storefront:shop", kwargs={"code": shop.code})),
        ("places", reverse("storefront:place-list")),
        ("open-a-shop", reverse("admission:apply")),
        ("open-data", reverse("open_data:index")),
        ("reviews", reverse("catalogue:reviews-list", args=[product.slug, product.pk])),
    ]
    if chinese_only:
        pages.append(("product-chinese-only", chinese_only.get_absolute_url()))
    trace = ParcelTrace.objects.filter(shop_order__order__lines__harvest_draws__isnull=False).first()
    pages.append(("trace", reverse("harvest:trace", kwargs={"code": trace.code})))
    if place:
        pages.append(("place", reverse("storefront:place", kwargs={"pk": place.pk})))
    return pages


def anonymous_pages() -> list[tuple[str, str]]:
    return [
        ("login", reverse("customer:login")),
        ("register", reverse("customer:register")),
        ("password-reset", reverse("password-reset")),
        ("basket-empty", reverse("basket:summary")),
    ]


def buyer_pages() -> list[tuple[str, str]]:
    order = ShopOrder.objects.filter(order__user__email=BUYER).order_by("pk").first().order
    return [
        ("account", reverse("customer:profile-view")),
        ("account-edit", reverse("customer:profile-update")),
        ("change-password", reverse("customer:change-password")),
        ("orders", reverse("customer:order-list")),
        ("order", reverse("customer:order", kwargs={"order_number": order.number})),
        ("addresses", reverse("customer:address-list")),
        ("address-add", reverse("customer:address-create")),
        ("emails", reverse("customer:email-list")),
        ("notifications", reverse("customer:notifications-inbox")),
        ("alerts", reverse("customer:alerts-list")),
        ("wishlists", reverse("customer:wishlists-list")),
        ("thank-you", reverse("checkout:thank-you", kwargs={"number": order.number})),
        ("listing-report", reverse("storefront:listing-report", args=[order.lines.first().product_id])),
    ]


def farmer_pages() -> list[tuple[str, str]]:
    shop = Partner.objects.get(code="taoyuan-peach-farm")
    listing = Product.objects.filter(shop=shop).order_by("pk").first()
    shop_order = ShopOrder.objects.filter(shop=shop).order_by("pk").first()
    pages = [
        ("console", reverse("console:home")),
        ("console-listings", reverse("console:listings")),
        ("console-listing-new", reverse("console:listing-create")),
        ("console-listing", reverse("console:listing-edit", kwargs={"pk": listing.pk})),
        ("console-photos", reverse("console:listing-photos", kwargs={"pk": listing.pk})),
        ("console-import", reverse("console:import")),
        ("console-orders", reverse("console:orders")),
        ("console-picking", reverse("console:picking")),
        ("console-order", reverse("console:order", kwargs={"number": shop_order.number})),
        ("console-slip", reverse("console:packing-slip", kwargs={"number": shop_order.number})),
        ("console-sales", reverse("console:sales")),
        ("console-statements", reverse("console:statements")),
    ]
    for tab in ORDER_TABS:
        pages.append((f"console-orders-{tab}", reverse("console:orders") + f"?tab={tab}"))
    plot = Plot.objects.filter(shop=shop).order_by("pk").first()
    pages += [
        ("console-orchard", reverse("console:orchard-plots")),
        ("console-plot", reverse("console:orchard-plot", kwargs={"plot": plot.pk})),
        ("console-plot-30-days", reverse("console:orchard-plot", kwargs={"plot": plot.pk}) + "?days=30"),
        ("console-plot-new", reverse("console:orchard-plot-create")),
        ("console-plot-edit", reverse("console:orchard-plot-edit", kwargs={"plot": plot.pk})),
        ("console-device-new", reverse("console:orchard-device-create", kwargs={"plot": plot.pk})),
        ("console-rules", reverse("console:orchard-rules", kwargs={"plot": plot.pk})),
        ("console-alerts", reverse("console:orchard-alerts")),
        ("console-harvest", reverse("console:harvest")),
        ("console-harvest-new", reverse("console:harvest-create")),
    ]
    statement = Statement.objects.filter(shop=shop).order_by("pk").first()
    if statement:
        pages.append(("console-statement", reverse("console:statement", args=[statement.number])))
    return pages


def association_pages() -> list[tuple[str, str]]:
    application = ShopApplication.objects.order_by("pk")[0]
    awaiting = Product.objects.filter(listing_status=Product.ListingStatus.AWAITING_REVIEW).order_by("pk")[0]
    statement = Statement.objects.order_by("pk").first()
    return [
        ("association", reverse("association:home")),
        ("applications", reverse("association:applications")),
        ("application", reverse("association:application", args=[application.pk])),
        ("shops", reverse("association:shops")),
        ("shop", reverse("association:shop", kwargs={"pk": Partner.objects.order_by("pk").first().pk})),
        ("listings", reverse("association:listings")),
        ("listing", reverse("association:listing", kwargs={"pk": awaiting.pk})),
        ("reviews", reverse("association:reviews")),
        ("standards", reverse("association:standards")),
        ("standard", reverse("association:standard-edit",
                             kwargs={"category_pk": CategoryStandard.objects.first().category_id})),
        ("sales", reverse("association:sales")),
        ("logistics", reverse("association:logistics")),
        ("statements", reverse("association:statements")),
        ("statement", reverse("association:statement", kwargs={"pk": statement.pk})),
        ("commission", reverse("association:commission")),
        ("decisions", reverse("association:audit")),
    ]  # fmt: skip


def partner_pages(email: str) -> list[tuple[str, str]]:
    partner = LogisticsPartner.objects.get(users__email=email)
    leg = partner.legs.order_by("pk").first()
    pages = [("portal", reverse("logistics_portal:home"))]
    if leg:
        pages.append(("portal-leg", reverse("logistics_portal:leg", kwargs={"pk": leg.pk})))
    return pages


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_kind_of_page_speaks_one_language(demo_world, language):
    walk = Walk(language)
    anonymous = Client()
    if language == "en":
        anonymous.cookies["django_language"] = "en"
    for label, path in storefront_pages() + anonymous_pages():
        walk.page(anonymous, label, path)

    buyer = signed_in(BUYER, language)
    product = Product.objects.filter(title_en__gt="").exclude(stockrecords=None).order_by("pk").first()
    chinese_only = Product.objects.filter(title_en="").exclude(stockrecords=None).order_by("pk").first()
    for each in filter(None, (product, chinese_only)):
        assert buyer.post(reverse("basket:add", kwargs={"pk": each.pk}), {"quantity": 1}).status_code == 302
    for label, path in [("basket", reverse("basket:summary")), ("checkout", reverse("checkout:index"))]:
        walk.page(buyer, label, path)
    for label, path in buyer_pages():
        walk.page(buyer, label, path)

    farmer = signed_in(FARMER, language)
    for label, path in farmer_pages():
        walk.page(farmer, label, path)

    association = signed_in(ASSOCIATION, language)
    for label, path in association_pages():
        walk.page(association, label, path)

    for email in ("hub.yangshan@demo.xiangwei.cn", "sp.taoyuan@demo.xiangwei.cn"):
        partner = signed_in(email, language)
        for label, path in partner_pages(email):
            walk.page(partner, label, path)

    assert walk.walked > 60
    assert not walk.problems, f"{len(walk.problems)} in the wrong language:\n" + "\n".join(walk.problems)
