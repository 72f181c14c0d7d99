"""Every URL of the project, walked as each kind of user with hostile values in its ids and in every query
parameter and form field its view reads, answers without a server error (no 5xx).

The patterns come from the project's URL conf, so a page added tomorrow is walked too; a pattern whose
arguments the walk cannot fill with a real object of the world fails until it is taught (ARGUMENTS). The
names a view reads come from the page it renders (the inputs, selects, text areas and buttons of its own
forms, the query keys of its links), from the forms its view class names and the keys its code reads
from the request, and from the query parameters list pages commonly take (COMMON_QUERY_PARAMETERS).

Each role walks every pattern. The role a page is for (its owner: the farmer for /shop/, the association
for /association/, the buyer for /accounts/, …) sends the full matrix, as GET and as POST: one request
per hostile value with every name at once (name i gets value i + k in request k, so each name gets each
value once, "absent" included), a request with every name repeated, one with a NUL in every name, and
requests where the names with choices (select options, radios, check boxes, filter links) take each of
their own values while the others take a date at the calendar's edge or 20 digits; then each URL
argument replaced by a hostile id. The other roles send one hostile GET and POST per pattern. The admin
is walked by the superuser: the project's own ModelAdmins with the full matrix, Django's and Oscar's
with one hostile GET and POST per pattern; the other roles are refused at its door, once per model.

PostgreSQL refuses what SQLite stores (a NUL in text, a number too large for its column, text longer than
its varchar, a numeric beyond its precision): on SQLite every statement is checked as PostgreSQL would
check it (``postgresql_strict``), so a request that would fail on PostgreSQL fails here too.

Every pattern the walk leaves out is in SKIPPED with its reason."""

import inspect
import io
import json
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import yaml
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.contrib.flatpages.models import FlatPage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, connection, models, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from oscar.apps.partner.strategy import Default
from oscar.core.loading import get_model
from oscar.test import factories as oscar_factories
from PIL import Image

from fixtures.loader import logistics_load, region_path_resolve, regions_load
from logistics.models import LogisticsPartner, WebhookDelivery, WebhookPayload
from logistics.routing import consignment_route
from logistics.services import partner_token_issue
from marketplace.checkout.services import DeliveryAddress, checkout_place
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import shop_order_transition
from marketplace.payments.models import Payment
from marketplace.shipping.models import ShippingRule
from shops.association.access import association_group
from shops.association.admission import ApplicationDetails, application_submit
from shops.harvest.services import parcel_traces_ensure
from shops.orchard.metrics import BY_CODE
from shops.orchard.models import Alert as OrchardAlert
from shops.orchard.models import AlertRule, Device, Plot
from shops.photos import product_photo_add
from shops.services import farmer_attach
from shops.settlement.models import CommissionRule
from shops.settlement.services import statements_generate
from tests.factories import ProductFactory, ShopFactory, category

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
PROJECT_PACKAGES = tuple(f"{ROOT / package}/" for package in ("marketplace", "shops", "logistics"))

Basket = get_model("basket", "Basket")
CommunicationEventType = get_model("communication", "CommunicationEventType")
Email = get_model("communication", "Email")
Notification = get_model("communication", "Notification")
OrderNote = get_model("order", "OrderNote")
ProductReview = get_model("reviews", "ProductReview")
UserAddress = get_model("address", "UserAddress")
Country = get_model("address", "Country")
WishList = get_model("wishlists", "WishList")
ProductAlert = get_model("customer", "ProductAlert")
WeightBased = get_model("shipping", "WeightBased")

ROLES = ("visitor", "buyer", "farmer", "association", "logistics", "admin")

# --- what is sent -------------------------------------------------------------------------------------

HUGE = "9" * 20  # beyond any database integer
INVALID_UTF8 = "%ff%fe"  # written into the raw query string or body, already percent-encoded


@dataclass(frozen=True)
class Hostile:
    """A value sent, as the view would receive it (INVALID_UTF8 stands for itself; None: left out)."""

    label: str
    text: str | None

    def encoded(self) -> str:
        return self.text if self.text == INVALID_UTF8 else quote(self.text, safe="")


HOSTILE_VALUES = (
    Hostile("absent", None),  # a field the page renders, left out by a hand-made request
    Hostile("20 digits", HUGE),
    Hostile("int4 overflow", "2147483648"),
    Hostile("negative", "-1"),
    Hostile("zero", "0"),
    Hostile("exponent", "1e999999"),
    Hostile("10k characters", "x" * 10_000),
    Hostile("invalid UTF-8", INVALID_UTF8),
    Hostile("first day", "0001-01-01"),
    Hostile("last day", "9999-12-31"),
    Hostile("year 10000", "10000-01-01"),
    Hostile("empty", ""),
)
REPEATED = (Hostile("1", "1"), Hostile("20 digits", HUGE), Hostile("empty", ""))
# A NUL refuses the whole request (400, marketplace.request_checks): it is sent in every name at once, in a
# request of its own, rather than beside the other values it would hide.
NUL = Hostile("NUL byte", "a\x00b")
# Beside the values a page offers (its select options, …), the other names take these, one per request.
BESIDE_CHOICES = (
    Hostile("first day", "0001-01-01"),
    Hostile("last day", "9999-12-31"),
    Hostile("20 digits", HUGE),
)
MOST_CHOICES = 8  # requests of offered values per page at most (an admin select may offer hundreds)

# URL arguments: hostile ids for the converters that take digits, hostile text for the others.
HOSTILE_DIGITS = ("0", HUGE)
HOSTILE_TEXT = (HUGE, "-1", "x" * 1000, "a\x00b", INVALID_UTF8)

# What list pages commonly read from the query string (sorting, paging, filters, periods).
COMMON_QUERY_PARAMETERS = (
    "q",
    "page",
    "per_page",
    "sort",
    "o",
    "p",
    "status",
    "shop",
    "period",
    "start",
    "end",
    "date_from",
    "date_to",
    "next",
)

# Pagination: a page number out of range is a 404 (Django's paginator), so a request answered 404 is sent
# again without these to reach what the other names do.
PAGE_NUMBERS = {"page", "p"}
# Names never sent: the test client does not check CSRF tokens.
NEVER_SENT = {"csrfmiddlewaretoken"}
# In the admin (staff only), a formset's management fields are sent as the page rendered them: a hostile
# total makes Django build absolute_max (max_num + 1000) forms per formset, which is bounded, answers 200,
# and would cost the walk seconds per request on the admin's product page. Elsewhere they are walked.
STAFF_AREAS = ("admin",)
MANAGEMENT_FIELD = re.compile(r"-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$")

# --- what is not walked, and why -------------------------------------------------------------------

SKIPPED = {
    "payments/stripe/webhook/": (
        "Stripe's webhook answers only requests signed with the webhook secret; odd signed events are "
        "walked by tests/payments/test_stripe.py"
    ),
    "^media/(?P<path>.*)$": "media files are served by the web server (this pattern exists with DEBUG only)",
}


# --- the URL patterns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern with the namespace and route it is mounted under."""

    route: str
    name: str | None  # namespaced
    namespace: str
    pattern: URLPattern
    arguments: tuple[str, ...]  # the named arguments of the pattern and of the includes above it

    @property
    def area(self) -> str:
        return self.namespace.split(":")[0]


def project_routes() -> list[Route]:
    """Every pattern the project answers (a pattern shadowed by an earlier one with the same route is
    never reached and left out)."""
    found: dict[str, Route] = {}

    def walk(patterns, prefix: str, namespace: str, arguments: tuple[str, ...]) -> None:
        for pattern in patterns:
            own = tuple(pattern.pattern.regex.groupindex)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner, arguments + own)
            else:
                route = prefix + str(pattern.pattern)
                name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else None
                found.setdefault(route, Route(route, name, namespace, pattern, arguments + own))

    walk(get_resolver().url_patterns, "", "", ())
    return list(found.values())


ROUTES = project_routes()


def admin_model_of(route: Route):
    """The model of an admin pattern (admin/<app>/<model>/…), or None for the admin's own pages."""
    if route.area != "admin":
        return None
    for model in admin.site._registry:
        if route.route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return model
    return None


@dataclass(frozen=True)
class Unit:
    """What one test walks: one pattern, or every admin pattern of one model."""

    key: str
    routes: tuple[Route, ...]


def walk_units() -> list[Unit]:
    units: dict[str, list[Route]] = {}
    for route in ROUTES:
        model = admin_model_of(route)
        key = f"admin/{model._meta.label_lower}" if model else route.route
        units.setdefault(key, []).append(route)
    return [Unit(key=key, routes=tuple(routes)) for key, routes in units.items()]


UNITS = walk_units()

# The role each area is for; it sends the full matrix there. Names listed by themselves win.
OWNERS = {
    "console": "farmer",
    "association": "association",
    "logistics_portal": "logistics",
    "logistics_api": "logistics",
    "admin": "admin",
    "customer": "buyer",
    "basket": "buyer",
    "checkout": "buyer",
}
OWNER_BY_NAME = {
    "customer:login": "visitor",
    "customer:register": "visitor",
    "customer:anon-order-form": "visitor",
    "customer:anon-order": "visitor",
    "customer:alerts-confirm": "visitor",
    "customer:alerts-cancel-by-key": "visitor",
    "catalogue:reviews-add": "buyer",
    "catalogue:reviews-vote": "buyer",
    "storefront:listing-report": "buyer",
    "wishlists:detail": "buyer",
}


def light_admin(route: Route) -> bool:
    """An admin page walked with one hostile GET and POST rather than the full matrix: any page of Django's
    or Oscar's own ModelAdmins (the full matrix is for the project's admin code), and Django's history,
    delete and object-redirect pages of ours (they read no field but the delete page's "post")."""
    model = admin_model_of(route)
    if model is None:
        return False
    if not type(admin.site._registry[model]).__module__.startswith(PROJECT_MODULES):
        return True
    return route.name is None or route.name.endswith(("_history", "_delete"))


PROJECT_MODULES = ("marketplace.", "shops.", "logistics.")


def admin_form_page(route: Route) -> bool:
    """An admin add or change page: from the query string it reads only the add form's initial values
    and the admin's own _changelist_filters, _popup and _to_field, so one hostile GET covers it (its
    full matrix is in the POSTs)."""
    return route.area == "admin" and (route.name or "").endswith(("_add", "_change"))


def owner_of(route: Route) -> str:
    return OWNER_BY_NAME.get(route.name or "", OWNERS.get(route.area, "visitor"))


# --- the world: an object of each kind, for each role -------------------------------------------------


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(out, "JPEG")
    return out.getvalue()


@dataclass
class World:
    """The users of the roles (None for the visitor), the partner API key and the objects by name
    (``world.tea`` is ``world.objects["tea"]``)."""

    users: dict[str, object]
    token: str
    objects: dict[str, object] = field(default_factory=dict)

    def __getattr__(self, name: str):
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


def world_build() -> World:
    """A shop in a Suichang village with its farmer, two listings (one with a photo), a buyer's paid order
    routed to a village service point (whose staff use the portal and the API) and an unpaid one, an open
    basket, this month's statement, a commission rule, a shop application with photos, a pending review,
    and one of each object the buyer's account pages and the admin show."""
    regions_load(rows=yaml.safe_load((FIXTURES / "regions.yaml").read_text(encoding="utf-8")))
    logistics_load(rows=yaml.safe_load((FIXTURES / "logistics.yaml").read_text(encoding="utf-8"))["partners"])
    province, city, county, town, village = region_path_resolve(
        names=["浙江省", "丽水市", "遂昌县", "大柘镇", "大田村"]
    )

    users = {
        "visitor": None,
        "buyer": oscar_factories.UserFactory(email="buyer@example.cn"),
        "farmer": oscar_factories.UserFactory(email="farmer@example.cn"),
        "association": oscar_factories.UserFactory(email="staff@association.example.cn"),
        "logistics": oscar_factories.UserFactory(email="staff@service-point.example.cn"),
        "admin": oscar_factories.UserFactory(email="admin@example.cn", is_staff=True, is_superuser=True),
    }
    users["association"].groups.add(association_group())
    users["association"].user_permissions.add(Permission.objects.get(codename="use_workspace"))
    partner = LogisticsPartner.objects.get(code="sp-datian")
    partner.users.add(users["logistics"])

    tea_category = category("茶叶", "Tea")
    shop = ShopFactory(
        name="大田茶园", province=province, city=city, county=county, town=town, village=village
    )
    farmer_attach(shop=shop, user=users["farmer"])
    ShippingRule.objects.create(shop=shop, flat_charge=Decimal("10.00"))
    tea = ProductFactory(title="龙谷丽人茶", shop=shop, perishable=False, net_weight_g=250)
    tea.categories.add(tea_category)
    shoots = ProductFactory(title="笋干", shop=shop, perishable=False, net_weight_g=500)
    photo = product_photo_add(product=tea, upload=SimpleUploadedFile("tea.jpg", jpeg_bytes(), "image/jpeg"))

    address = DeliveryAddress("王小明", "+8613800138000", "上海市", "上海市", "浦东新区", "世纪大道 100 号")
    orders = []
    for product in (tea, shoots):
        basket = Basket.objects.create(owner=users["buyer"])
        basket.strategy = Default()
        basket.add_product(product, 1)
        orders.append(
            checkout_place(basket=basket, user=users["buyer"], email="buyer@example.cn", address=address)
        )
    order, unpaid = orders
    shop_order = order.shop_orders.get()
    Payment.objects.create(
        order=order,
        intent_id="pi_walk",
        client_secret="secret",
        amount=order.total_incl_tax,
        currency="CNY",
        status=Payment.Status.SUCCEEDED,
        paid_at=timezone.now(),
    )
    shop_order_transition(shop_order_id=shop_order.pk, to_status=ShopOrder.Status.PAID, reason="walk")
    consignment = consignment_route(shop_order_id=shop_order.pk)
    leg = consignment.legs.get(partner=partner)
    statement = next(s for s in statements_generate(month=timezone.localdate()) if s.shop_id == shop.pk)
    rule = CommissionRule.objects.create(percent=Decimal("5"), effective_from=timezone.localdate())

    open_basket = Basket.objects.create(owner=users["buyer"])
    open_basket.strategy = Default()
    basket_line, _created = open_basket.add_product(shoots, 1)

    application = application_submit(
        details=ApplicationDetails(
            shop_name="湖山笋干铺",
            farmer_name="李春花",
            phone="13857812345",
            email="chunhua@farm.example.cn",
            county=county,
            produce="高山笋干",
            categories=[tea_category],
        ),
        farm_photos=[jpeg_bytes()],
        licence_photos=[jpeg_bytes()],
    )

    buyer = users["buyer"]
    # The account the admin edits and deletes (not one of the roles walking the same pattern).
    bystander = oscar_factories.UserFactory(email="bystander@example.cn")
    country = Country.objects.get_or_create(iso_3166_1_a2="CN", defaults={"name": "China"})[0]
    user_address = UserAddress.objects.create(
        user=buyer, first_name="小明", last_name="王", line1="世纪大道 100 号", line4="上海", country=country
    )
    wishlist = WishList.objects.create(owner=buyer, name="年货")
    wishlist_line = wishlist.lines.create(product=tea, title=tea.title)
    other_wishlist = WishList.objects.create(owner=buyer, name="送礼")
    alert = ProductAlert.objects.create(user=buyer, product=shoots, status=ProductAlert.ACTIVE)
    anonymous_alert = ProductAlert.objects.create(email="someone@example.cn", product=tea)
    review = ProductReview.objects.create(
        product=tea, user=buyer, score=5, title="好茶", body="香", status=ProductReview.APPROVED
    )
    pending_review = ProductReview.objects.create(
        product=shoots,
        user=bystander,
        score=2,
        title="一般",
        body="有点咸",
        status=ProductReview.FOR_MODERATION,
    )
    notification = Notification.objects.create(recipient=buyer, subject="您的订单已发货")
    email = Email.objects.create(user=buyer, email=buyer.email, subject="订单", body_text="谢谢")
    event_type = CommunicationEventType.objects.get_or_create(code="ORDER_PLACED", defaults={"name": "下单"})[
        0
    ]
    note = OrderNote.objects.create(order=order, user=users["admin"], message="送货前电话")
    voucher = oscar_factories.create_voucher()
    voucher_set = oscar_factories.VoucherSetFactory()
    offer = oscar_factories.create_offer(name="春茶优惠")
    product_range = oscar_factories.RangeFactory(slug="walk-range")
    product_range.add_product(tea)
    method = WeightBased.objects.create(name="按重量", code="by-weight")
    band = method.bands.create(upper_limit=Decimal("5"), charge=Decimal("12"))
    option = oscar_factories.OptionFactory()
    option_group = oscar_factories.AttributeOptionGroupFactory()
    page = FlatPage.objects.create(url="/about/", title="关于", content="乡味集市")
    plot = Plot.objects.create(shop=shop, name="东坡茶园", village=village)
    device = Device.objects.create(plot=plot, device_id="walk-01", secret="0" * 64)
    orchard_rule = AlertRule.objects.create(
        plot=plot,
        name="霜冻",
        metric=BY_CODE["air_temp_c"].number,
        direction=AlertRule.Direction.BELOW,
        threshold=2.0,
    )
    orchard_alert = OrchardAlert.objects.create(
        rule=orchard_rule, day=timezone.localdate(), measured_at=timezone.now(), value=0.5
    )
    webhook_delivery = WebhookDelivery.objects.create(
        partner=partner,
        payload=WebhookPayload.objects.create(event="leg.created", body="{}"),
        leg=leg,
        event="leg.created",
        key="walk-delivery",
    )
    trace_code = parcel_traces_ensure(shop_order_ids=[shop_order.pk])[shop_order.pk]

    objects = {
        "bystander": bystander,
        "province": province,
        "village": village,
        "category": tea_category,
        "shop": shop,
        "tea": tea,
        "shoots": shoots,
        "photo": photo,
        "order": order,
        "unpaid": unpaid,
        "basket_line": basket_line,
        "line": order.lines.first(),
        "shop_order": shop_order,
        "leg": leg,
        "statement": statement,
        "rule": rule,
        "application": application,
        "application_photo": application.photos.first(),
        "user_address": user_address,
        "wishlist": wishlist,
        "wishlist_line": wishlist_line,
        "other_wishlist": other_wishlist,
        "alert": alert,
        "anonymous_alert": anonymous_alert,
        "review": review,
        "pending_review": pending_review,
        "notification": notification,
        "email": email,
        "event_type": event_type,
        "note": note,
        "voucher": voucher,
        "voucher_set": voucher_set,
        "offer": offer,
        "range": product_range,
        "method": method,
        "band": band,
        "option": option,
        "option_group": option_group,
        "page": page,
        "product_class": tea.product_class,
        "plot": plot,
        "device": device,
        "orchard_rule": orchard_rule,
        "orchard_alert": orchard_alert,
        "webhook_delivery": webhook_delivery,
        "trace_code": trace_code,
    }
    return World(users=users, token=partner_token_issue(partner=partner, label="walk"), objects=objects)


# Real values for URL arguments, by the route the pattern starts with (the longest that fits wins).
ARGUMENTS: dict[str, dict[str, Callable[[World], object]]] = {
    "shop/listings/import/": {"kind": lambda w: "xlsx"},
    "shop/listings/": {"pk": lambda w: w.tea.pk, "photo_pk": lambda w: w.photo.pk},
    "shop/orders/": {"number": lambda w: w.shop_order.number},
    "shop/statements/": {"statement": lambda w: w.statement.number},
    "shop/orchard/": {
        "plot": lambda w: w.plot.pk,
        "metric": lambda w: "air_temp_c",
        "device": lambda w: w.device.pk,
        "rule": lambda w: w.orchard_rule.pk,
        "alert": lambda w: w.orchard_alert.pk,
    },
    "logistics/webhooks/": {"pk": lambda w: w.webhook_delivery.pk},
    "t/": {"code": lambda w: w.trace_code},
    "logistics/legs/": {"pk": lambda w: w.leg.pk},
    "api/logistics/": {"pk": lambda w: w.leg.pk},
    "association/listings/": {"pk": lambda w: w.tea.pk},
    "association/reviews/": {"pk": lambda w: w.pending_review.pk},
    "association/standards/": {"category_pk": lambda w: w.category.pk},
    "association/applications/": {
        "pk": lambda w: w.application.pk,
        "photo_pk": lambda w: w.application_photo.pk,
    },
    "association/shops/": {"pk": lambda w: w.shop.pk},
    "association/statements/": {"pk": lambda w: w.statement.pk},
    "association/commission/": {"pk": lambda w: w.rule.pk},
    "open-a-shop/": {"token": lambda w: w.application.token},
    "shops/": {"code": lambda w: w.shop.code},
    "places/": {"pk": lambda w: w.village.pk},
    "listings/": {"pk": lambda w: w.tea.pk},
    "catalogue/^(?P<product_slug>": {
        "product_slug": lambda w: w.tea.slug,
        "product_pk": lambda w: w.tea.pk,
        "pk": lambda w: w.tea.pk,
    },
    "catalogue/^(?P<product_slug>[\\w-]*)_(?P<product_pk>\\d+)/reviews/<int:pk>/": {
        "product_slug": lambda w: w.tea.slug,
        "product_pk": lambda w: w.tea.pk,
        "pk": lambda w: w.review.pk,
    },
    "catalogue/^category/": {"category_slug": lambda w: w.category.full_slug, "pk": lambda w: w.category.pk},
    "catalogue/^ranges/": {"slug": lambda w: w.range.slug},
    "basket/add/": {"pk": lambda w: w.tea.pk},
    "basket/vouchers/": {"pk": lambda w: w.voucher.pk},
    "checkout/orders/": {"number": lambda w: w.unpaid.number},
    "checkout/orders/<str:number>/thank-you/": {"number": lambda w: w.order.number},
    "accounts/^order-status": {
        "order_number": lambda w: w.order.number,
        "hash": lambda w: w.order.verification_hash(),
    },
    "accounts/orders/": {"order_number": lambda w: w.order.number, "line_id": lambda w: w.line.pk},
    "accounts/addresses/": {"pk": lambda w: w.user_address.pk},
    "accounts/^addresses/": {"pk": lambda w: w.user_address.pk, "action": lambda w: "default_for_shipping"},
    "accounts/emails/": {"email_id": lambda w: w.email.pk},
    "accounts/notifications/": {"pk": lambda w: w.notification.pk},
    "accounts/alerts/create/": {"pk": lambda w: w.tea.pk},
    "accounts/alerts/confirm/": {"key": lambda w: w.anonymous_alert.key},
    "accounts/alerts/cancel/": {"key": lambda w: w.anonymous_alert.key, "pk": lambda w: w.alert.pk},
    "accounts/wishlists/": {
        "key": lambda w: w.wishlist.key,
        "to_key": lambda w: w.other_wishlist.key,
        "product_pk": lambda w: w.shoots.pk,
        "line_pk": lambda w: w.wishlist_line.pk,
    },
    "accounts/wishlists/<str:key>/products/": {
        "key": lambda w: w.wishlist.key,
        "product_pk": lambda w: w.tea.pk,
    },
    "offers/": {"slug": lambda w: w.offer.slug},
    "wishlists/": {"key": lambda w: w.wishlist.key},
    "password-reset/confirm/": {
        "uidb64": lambda w: urlsafe_base64_encode(force_bytes(w.users["buyer"].pk)),
        "token": lambda w: default_token_generator.make_token(w.users["buyer"]),
    },
    "admin/r/": {
        "content_type_id": lambda w: admin_content_type_id(w.tea),
        "object_id": lambda w: w.tea.pk,
    },
    "admin/^(?P<app_label>": {"app_label": lambda w: "shops"},
    "admin/(?P<url>": {"url": lambda w: "nowhere/"},
}


def admin_content_type_id(instance) -> int:
    return get_model("contenttypes", "ContentType").objects.get_for_model(instance).pk


def real_arguments(route: Route, world: World) -> dict[str, object]:
    """The pattern's arguments filled with objects of the world; KeyError names an argument it cannot fill."""
    names = list(route.arguments)
    if not names:
        return {}
    model = admin_model_of(route)
    if model is not None and len(names) == 1:  # the object's id, whatever the admin view calls it
        instance = admin_instance(model, world)
        return {names[0]: instance.pk if instance else 1}
    prefixes = sorted((p for p in ARGUMENTS if route.route.startswith(p)), key=len, reverse=True)
    for prefix in prefixes:
        if all(name in ARGUMENTS[prefix] for name in names):
            return {name: ARGUMENTS[prefix][name](world) for name in names}
    raise KeyError(f"{route.route}: teach ARGUMENTS how to fill {names}")


def admin_instance(model, world: World):
    """A row of ``model`` to open in the admin: the world's own where it has one, else the first."""
    for value in world.objects.values():
        if type(value) is model:
            return value
    return model._default_manager.order_by("pk").first()


def url_of(route: Route, arguments: dict[str, object]) -> str:
    if route.name:
        return reverse(route.name, kwargs=arguments)
    # An unnamed pattern (the admin's object redirect): its route with the arguments written in.
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: quote(str(arguments[m[1]]), safe=""), route.route)


# --- how a page tells what it reads ----------------------------------------------------------------------


class FieldNames(HTMLParser):
    """What a page's own forms send (fields of forms posting to the page itself or anywhere outside a
    form: inputs, selects, text areas, buttons) and the query keys of its links to itself, with the
    values each offers (select options, radio and check box values, link values)."""

    def __init__(self, path: str):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.names: set[str] = set()
        self.values: dict[str, str] = {}
        self.choices: dict[str, list[str]] = {}
        self.in_other_form = False
        self.select: str | None = None

    def _choice(self, name: str, value: str) -> None:
        if value not in self.choices.setdefault(name, []):
            self.choices[name].append(value)

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name")
        if tag == "form":
            action = urlsplit(attributes.get("action", "")).path
            self.in_other_form = action not in ("", self.path)
        elif tag == "option" and self.select and "value" in attributes:
            self._choice(self.select, attributes["value"])
        elif tag in ("input", "select", "textarea", "button") and name and not self.in_other_form:
            self.names.add(name)
            self.values.setdefault(name, attributes.get("value", ""))
            if tag == "select":
                self.select = name
            elif attributes.get("type") in ("radio", "checkbox"):
                self._choice(name, attributes.get("value", "on"))
        elif tag == "a" and attributes.get("href"):
            link = urlsplit(attributes["href"])
            if link.query and link.path in ("", self.path):
                for key, value in parse_qsl(link.query, keep_blank_values=True):
                    self.names.add(key)
                    self._choice(key, value)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_other_form = False
        elif tag == "select":
            self.select = None


def page_fields(response, path: str) -> FieldNames:
    parser = FieldNames(path)
    if "html" in response.get("Content-Type", "") and not response.streaming:
        parser.feed(response.content.decode(errors="replace"))
    return parser


REQUEST_KEY = re.compile(
    r"""(?:GET|POST|FILES|query_params|data)(?:\.get|\.getlist|\.pop)?\s*[\(\[]\s*["']([\w\-\[\]]+)["']"""
)
FORM_NAME = re.compile(r"\b([A-Z]\w*(?:Form|FormSet))\b")


@cache
def view_names(route: Route) -> frozenset[str]:
    """The names a view's code reads: the fields of the forms it names (its form_class and any form
    class its source mentions) and the keys it takes from request.GET / POST / data."""
    callback = route.pattern.callback
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    classes = (
        [
            k
            for k in inspect.getmro(view)
            if k.__module__.split(".")[0] in ("marketplace", "shops", "logistics", "oscar")
        ]
        if inspect.isclass(view)
        else [view]
    )
    names: set[str] = set()
    for owner in classes:
        try:
            source = inspect.getsource(owner)
        except (OSError, TypeError):
            continue
        names.update(REQUEST_KEY.findall(source))
        module = inspect.getmodule(owner)
        for form_name in FORM_NAME.findall(source):
            candidate = getattr(module, form_name, None)
            if inspect.isclass(candidate) and issubclass(candidate, forms.BaseForm):
                names.update(candidate.base_fields)
        form_class = getattr(owner, "form_class", None)
        if inspect.isclass(form_class) and issubclass(form_class, forms.BaseForm):
            names.update(form_class.base_fields)
    return frozenset(names)


# --- PostgreSQL's checks, on SQLite -------------------------------------------------------------------

PG_INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


def column_fields() -> dict[str, dict[str, models.Field]]:
    tables: dict[str, dict[str, models.Field]] = {}
    for model in apps.get_models(include_auto_created=True):
        columns = tables.setdefault(model._meta.db_table, {})
        for model_field in model._meta.local_concrete_fields:
            columns[model_field.column] = model_field
    return tables


INSERT = re.compile(r'^INSERT INTO "(?P<table>[^"]+)" \((?P<columns>[^)]*)\) VALUES')
UPDATE = re.compile(r'^UPDATE "(?P<table>[^"]+)" SET (?P<assignments>.*?)(?: WHERE |$)', re.DOTALL)
ASSIGNMENT = re.compile(r'"(?P<column>[^"]+)" = (?P<value>.*?)(?=, "[^"]+" = |$)', re.DOTALL)


def postgresql_refusal(model_field: models.Field | None, value) -> str | None:
    """What PostgreSQL would answer to ``value`` written to the column of ``model_field`` (None: nothing
    to say). Without a field (a value compared, not stored) only a NUL in text is refused."""
    if isinstance(value, str) and "\x00" in value:
        return "text cannot contain NUL (0x00) characters"
    if model_field is None or value is None:
        return None
    too_long = isinstance(model_field, models.CharField) and len(str(value)) > (model_field.max_length or 1e9)
    if isinstance(value, str) and too_long:
        return f"value too long for type character varying({model_field.max_length})"
    if type(value) is int:
        target = model_field.target_field if model_field.is_relation else model_field
        internal = target.get_internal_type()
        internal = {
            "AutoField": "IntegerField",
            "BigAutoField": "BigIntegerField",
            "SmallAutoField": "SmallIntegerField",
        }.get(internal, internal)
        low, high = PG_INTEGER_RANGES.get(internal, (None, None))
        if low is not None and not low <= value <= high:
            return f"{internal} out of range: {value}"
    if isinstance(value, Decimal) and isinstance(model_field, models.DecimalField) and value.is_finite():
        integer_digits = (model_field.max_digits or 0) - (model_field.decimal_places or 0)
        if abs(value) >= Decimal(10) ** integer_digits:
            return f"numeric field overflow: {value} in {model_field.max_digits} digits"
    return None


class PostgreSQLStrict:
    """A database execute wrapper that raises DataError where PostgreSQL would refuse a statement."""

    def __init__(self):
        self.tables = column_fields()

    def __call__(self, execute, sql, params, many, context):
        for row in params if many else [params]:
            self.check(sql, list(row or ()))
        return execute(sql, params, many, context)

    def check(self, sql: str, params: list) -> None:
        fields: list[models.Field | None] = [None] * len(params)
        insert, update = INSERT.match(sql), UPDATE.match(sql)
        if insert:
            columns = self.tables.get(insert["table"], {})
            names = [name.strip().strip('"') for name in insert["columns"].split(",")]
            if names and len(params) % len(names) == 0:
                fields = [columns.get(names[i % len(names)]) for i in range(len(params))]
        elif update:
            columns = self.tables.get(update["table"], {})
            position = 0
            for assignment in ASSIGNMENT.finditer(update["assignments"]):
                count = assignment["value"].count("%s")
                if assignment["value"].strip() == "%s" and position < len(fields):
                    fields[position] = columns.get(assignment["column"])
                position += count
        for model_field, value in zip(fields, params, strict=True):
            refusal = postgresql_refusal(model_field, value)
            if refusal:
                raise DataError(f"PostgreSQL would refuse this: {refusal}")


# --- the walk --------------------------------------------------------------------------------------------


@dataclass
class Finding:
    role: str
    method: str
    url: str
    sent: str
    status: int
    error: str


@dataclass
class Walker:
    world: World
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    clients: dict[str, Client] = field(default_factory=dict)

    def client_for(self, role: str) -> Client:
        """One client per role for the whole test (signed in once)."""
        if role not in self.clients:
            client = Client(raise_request_exception=False)
            user = self.world.users[role]
            if user is not None:
                client.force_login(user)
            self.clients[role] = client
        return self.clients[role]

    def send(
        self,
        client: Client,
        role: str,
        method: str,
        url: str,
        pairs: list[tuple[str, Hostile]],
        json_body: bool = False,
    ):
        sent = [(name, value) for name, value in pairs if value.text is not None]
        query = "&".join(f"{quote(name, safe='')}={value.encoded()}" for name, value in sent)
        path = f"{url}?{query}" if query else url
        headers = {}
        if role == "logistics" and url.startswith("/api/"):
            headers["Authorization"] = f"Token {self.world.token}"
        self.requests += 1
        if method == "GET":
            response = client.get(path, headers=headers)
        elif json_body:
            body = json.dumps({name: value.text for name, value in sent})
            response = client.post(path, data=body, content_type="application/json", headers=headers)
        else:
            response = client.post(
                path, data=query, content_type="application/x-www-form-urlencoded", headers=headers
            )
        if response.status_code >= 500:
            self.findings.append(
                Finding(role, method, url, summary(pairs), response.status_code, error_of(response))
            )
        user = self.world.users[role]
        signed_out = (
            settings.SESSION_COOKIE_NAME in response.cookies and "_auth_user_id" not in client.session
        )
        if user is not None and signed_out:
            client.force_login(user)  # a logout (or a password change) must not end the walk
        return response


def summary(pairs: list[tuple[str, Hostile]]) -> str:
    if not pairs:
        return "-"
    values = {value.label for _name, value in pairs}
    names = sorted({name for name, _value in pairs})
    shown = ", ".join(names[:8]) + (f", … ({len(names)} names)" if len(names) > 8 else "")
    return f"{'/'.join(sorted(values))} in {shown}"


def error_of(response) -> str:
    """The exception behind a 5xx and the deepest line of the project's own code it went through."""
    if not getattr(response, "exc_info", None):
        return response.content[:200].decode(errors="replace")
    _type, exc, tb = response.exc_info
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    ours = [f for f in frames if f.filename.startswith(PROJECT_PACKAGES)]
    where = (ours or frames)[-1]
    shown = where.filename.removeprefix(f"{ROOT}/").split("site-packages/")[-1]
    return f"{type(exc).__name__}: {str(exc)[:160]} at {shown}:{where.lineno}"


def matrix(
    names: list[str], kept: dict[str, str], choices: dict[str, list[str]]
) -> list[list[tuple[str, Hostile]]]:
    """The rows of the full matrix (each a request's names and values); ``kept`` names are sent as the
    page rendered them in every row."""
    count = len(HOSTILE_VALUES)
    fixed = [(name, Hostile("as rendered", value)) for name, value in kept.items()]
    rows = [
        [(name, HOSTILE_VALUES[(i + k) % count]) for i, name in enumerate(names)] + fixed
        for k in range(count)
    ]
    rows.append([(name, value) for name in names for value in REPEATED] + fixed)
    rows.append([(name, NUL) for name in names] + fixed)
    # Each name with choices takes its own values in turn (a period "custom", a real shop in a filter),
    # so what they unlock is reached; the names without take one edge value per request.
    offered = {name: values for name, values in choices.items() if name in names and values}
    for r in range(min(max((len(values) for values in offered.values()), default=0), MOST_CHOICES)):
        edge = BESIDE_CHOICES[r % len(BESIDE_CHOICES)]
        rows.append(
            [
                (name, Hostile("offered", offered[name][r % len(offered[name])]) if name in offered else edge)
                for name in names
            ]
            + fixed
        )
    return rows


def hostile_urls(route: Route, arguments: dict[str, object]) -> list[str]:
    """The pattern's URL with one argument at a time replaced by a hostile value that still matches it."""
    urls = []
    for name in arguments:
        for value in (*HOSTILE_DIGITS, "-1", *HOSTILE_TEXT):
            marker = "zzhostilezz" if value == INVALID_UTF8 else value
            try:
                url = url_of(route, {**arguments, name: marker})
            except NoReverseMatch:
                continue
            urls.append(url.replace(marker, INVALID_UTF8) if value == INVALID_UTF8 else url)
    return list(dict.fromkeys(urls))


def walk_route(walker: Walker, route: Route, role: str, *, full: bool) -> None:
    """GET the page, then send hostile values to every name it reads: the full matrix, or (``full``
    false) one hostile GET and POST."""
    client = walker.client_for(role)
    arguments = real_arguments(route, walker.world)
    url = url_of(route, arguments)
    is_api = route.area == "logistics_api"
    first = walker.send(client, role, "GET", url, [])
    page = page_fields(first, url)
    names = (page.names | view_names(route) | set(COMMON_QUERY_PARAMETERS)) - NEVER_SENT
    kept = {}
    if route.area in STAFF_AREAS:
        kept = {name: page.values.get(name, "") for name in names if MANAGEMENT_FIELD.search(name)}
    rows = matrix(sorted(names - set(kept)), kept, page.choices)
    get_rows = rows[:1] if not full or admin_form_page(route) else rows
    for row in get_rows:
        response = walker.send(client, role, "GET", url, row)
        if response.status_code == 404 and first.status_code != 404:
            # A page number out of range is a 404 that would hide what the other names do.
            walker.send(client, role, "GET", url, [(n, v) for n, v in row if n not in PAGE_NUMBERS])
    for row in rows if full else rows[:1]:
        walker.send(client, role, "POST", url, row, json_body=is_api)
    if full:
        # Hostile ids: the view's lookup is the same for GET and POST; a POST-only view answers GET 405.
        method = "POST" if first.status_code == 405 else "GET"
        for hostile_url in hostile_urls(route, arguments):
            walker.send(
                client, role, method, hostile_url, rows[0] if method == "POST" else [], json_body=is_api
            )


def walk_refused(walker: Walker, route: Route, role: str) -> None:
    """A role the admin refuses at its one door (AdminSite.admin_view, before any ModelAdmin code runs):
    one hostile GET."""
    client = walker.client_for(role)
    url = url_of(route, real_arguments(route, walker.world))
    walker.send(client, role, "GET", url, matrix(sorted(COMMON_QUERY_PARAMETERS), {}, {})[0])


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once per module (per xdist worker) inside a transaction rolled back at the end; each test
    runs in a savepoint of it, so what a test's requests change is undone before the next."""
    media = tmp_path_factory.mktemp("walk-media")
    outer = transaction.atomic()
    outer._from_testcase = True  # as a test case's own transaction: Stripe may be called inside it
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media / "media",
            PRIVATE_MEDIA_ROOT=media / "private",
            # Hostile passwords are checked by the sign-in, password and delete-account pages.
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        outer,
    ):
        built = world_build()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_in_tmp():
    """The world's media folder stays in place for each test (the conftest's per-test one would hide the
    world's photos)."""


@pytest.fixture
def quiet_request_log():
    """The walk reports its own 5xx; Django's request log of every 404 and 500 would bury it."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def postgresql_strict():
    if connection.vendor == "postgresql":
        yield
        return
    with connection.execute_wrapper(PostgreSQLStrict()):
        yield


def report(unit: Unit, walker: Walker) -> str:
    lines = [f"{len(walker.findings)} of {walker.requests} requests to {unit.key} answered 5xx:"]
    seen: dict[tuple[str, str], int] = {}
    for finding in walker.findings:
        key = (finding.role, finding.error)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= 3:
            lines.append(
                f"  {finding.role} {finding.method} {finding.url[:150]} [{finding.sent}]"
                f" → {finding.status} {finding.error}"
            )
    return "\n".join(lines)


def test_every_pattern_is_walked_once_or_skipped_with_a_reason():
    walked = [route.route for unit in UNITS for route in unit.routes]
    assert sorted(walked) == sorted(route.route for route in ROUTES)
    assert set(SKIPPED) <= set(walked), set(SKIPPED) - set(walked)
    areas = {route.area for route in ROUTES}
    assert {
        "console",
        "association",
        "logistics_portal",
        "logistics_api",
        "customer",
        "basket",
        "admin",
    } <= areas


@pytest.mark.walk
@pytest.mark.parametrize("unit", UNITS, ids=[re.sub(r"[^\w/.:-]+", "_", unit.key) for unit in UNITS])
def test_hostile_input_gets_no_server_error(world, postgresql_strict, quiet_request_log, unit):
    walker = Walker(world)
    for index, route in enumerate(unit.routes):
        if route.route in SKIPPED:
            continue
        for role in ROLES:
            if route.area in STAFF_AREAS and role != "admin":
                if index == 0 or admin_model_of(route) is None:  # a model's patterns share the door
                    walk_refused(walker, route, role)
            else:
                walk_route(walker, route, role, full=role == owner_of(route) and not light_admin(route))
    assert not walker.findings, report(unit, walker)


# --- the fixes the walk asked for, one example each ----------------------------------------------------


def signed_in(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


def test_a_nul_anywhere_in_a_request_is_a_400(world):
    farmer = signed_in(world, "farmer")

    assert farmer.get("/shop/orders/", {"tab": "a\x00b"}).status_code == 400
    assert farmer.get("/shop/orders/a%00b/").status_code == 400
    assert farmer.post("/shop/switch/", {"shop": "a\x00b"}).status_code == 400


def test_a_nul_in_a_partner_api_request_is_a_json_400(world):
    response = Client().get(
        "/api/logistics/legs/", {"status": "a\x00b"}, headers={"Authorization": f"Token {world.token}"}
    )

    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_url_id_beyond_any_database_key_is_a_404(world):
    photo_url = f"/association/applications/{world.application.pk}/photos/{HUGE}/"

    assert signed_in(world, "association").get(photo_url).status_code == 404
    assert Client().get(f"/catalogue/{world.tea.slug}_{HUGE}/reviews/").status_code == 404


def test_the_order_history_searched_from_the_calendars_first_day_is_a_form_error(world):
    response = signed_in(world, "buyer").get(reverse("customer:order-list"), {"date_from": "0001-01-01"})

    assert response.status_code == 200
    assert "date_from" in response.context["form"].errors


def test_a_basket_post_without_the_optional_form_counts_still_removes_the_line(world):
    """A 20-digit form total makes the formset invalid; Oscar then redisplays the lines left after the
    deletion, copying every management field from the post, which need not hold MIN_NUM_FORMS."""
    line = world.basket_line
    response = signed_in(world, "buyer").post(
        reverse("basket:summary"),
        {
            "form-TOTAL_FORMS": HUGE,
            "form-INITIAL_FORMS": "1",
            "form-0-id": line.pk,
            "form-0-quantity": "1",
            "form-0-DELETE": "on",
        },
    )

    assert response.status_code == 302
    assert not type(line).objects.filter(pk=line.pk).exists()


def test_an_order_line_opens_its_order_and_a_line_it_does_not_have_is_a_404(world):
    buyer = signed_in(world, "buyer")
    number = world.order.number

    response = buyer.get(
        reverse("customer:order-line", kwargs={"order_number": number, "line_id": world.line.pk})
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("customer:order", kwargs={"order_number": number})
    assert (
        buyer.get(reverse("customer:order-line", kwargs={"order_number": number, "line_id": 0})).status_code
        == 404
    )


def test_a_wish_list_form_count_beyond_its_lines_edits_its_lines(world):
    line = world.wishlist_line
    response = signed_in(world, "buyer").post(
        reverse("customer:wishlists-detail", kwargs={"key": world.wishlist.key}),
        {
            "lines-TOTAL_FORMS": "5",
            "lines-INITIAL_FORMS": "5",
            "lines-0-id": line.pk,
            "lines-0-quantity": "3",
        },
    )

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity == 3


def test_a_wish_list_started_from_a_product_that_does_not_exist_starts_an_empty_one(world):
    url = reverse("customer:wishlists-create-with-product", kwargs={"product_pk": 0})

    response = signed_in(world, "buyer").get(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("customer:wishlists-create")


def test_a_review_sent_back_with_an_error_keeps_its_stars(world):
    url = reverse(
        "catalogue:reviews-add", kwargs={"product_slug": world.tea.slug, "product_pk": world.tea.pk}
    )

    response = signed_in(world, "farmer").post(url, {"score": "3", "title": "", "body": ""})

    assert response.status_code == 200
    assert "star-rating Three" in response.content.decode()


def test_an_admin_action_on_ids_that_are_not_ids_leaves_them_out(world):
    admin_client = signed_in(world, "admin")
    group = world.users["association"].groups.get()

    nothing = admin_client.post(
        "/admin/auth/group/", {"action": "delete_selected", "_selected_action": [HUGE, "x"]}
    )
    one = admin_client.post(
        "/admin/auth/group/", {"action": "delete_selected", "_selected_action": [HUGE, "x", group.pk]}
    )

    assert nothing.status_code == 302  # back to the list: "Items must be selected …"
    assert one.status_code == 200
    assert list(one.context["queryset"]) == [group]  # the confirmation page, for the one real group


def test_an_admin_date_drill_down_at_the_calendars_edge_is_an_incorrect_lookup(world):
    response = signed_in(world, "admin").get(
        reverse("admin:catalogue_product_changelist"),
        {"date_created__year": "9999", "date_created__month": "12", "date_created__day": "31"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_an_admin_autocomplete_field_posted_with_text_and_20_digits_is_a_form_error(world):
    response = signed_in(world, "admin").post(
        reverse("admin:catalogue_certification_add"),
        {"code": "gi", "name": "地标", "registered_regions": ["x", HUGE]},
    )

    assert response.status_code == 200
    assert "registered_regions" in response.context["adminform"].form.errors


def test_an_offer_condition_in_the_admin_needs_a_type_or_a_class_that_loads(world):
    admin_client = signed_in(world, "admin")
    data = {"range": world.range.pk, "value": "1"}

    no_type = admin_client.post(reverse("admin:offer_condition_add"), {**data, "type": ""})
    no_class = admin_client.post(reverse("admin:offer_condition_add"), {**data, "proxy_class": "os.path"})

    assert "type" in no_type.context["adminform"].form.errors
    assert "proxy_class" in no_class.context["adminform"].form.errors


def test_the_admin_offers_no_add_page_where_a_required_relation_is_read_only(world):
    assert signed_in(world, "admin").get(reverse("admin:basket_line_add")).status_code == 403
