"""The product page: Oscar's view, hiding products of shops that are not open, and loading only what
the page's live parts need (price, stock, badges); photos, facts and attributes are read lazily by
fragments that are usually served from the cache (marketplace/storefront/caching.py)."""

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView
from oscar.apps.catalogue.views import ProductDetailView as OscarProductDetailView
from oscar.core.loading import get_class, get_model

from marketplace.catalogue.forms import ListingReportForm
from marketplace.catalogue.reports import ListingReportError, listing_report_create
from marketplace.csrf import csrf_token
from marketplace.roles import association_member
from marketplace.security import REPORT_RATE, post_rate_limit
from marketplace.storefront.caching import (
    cached_by_version,
    catalogue_version,
    fragment_cache,
    fragment_seconds,
)
from marketplace.storefront.kept import PRODUCT_SCOPE, kept_object_load
from marketplace.storefront.listing import lazy_list
from marketplace.storefront.page_cache import CSRF_FIELD, CSRF_HOLE, NEUTRAL_COOKIES, StoredPage
from marketplace.storefront.selectors import product_stock_state

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
else:
    Product = get_model("catalogue", "Product")
CustomerHistoryManager = get_class("customer.history", "CustomerHistoryManager")

BUY_BOX = "buy-box"  # the live region of detail.html
PAGE_RELATED = ("shop", "product_class")  # what the page reads outside its kept parts


@dataclass(frozen=True)
class ProductServed:
    """What serving a stored page of a product reads of it (``ProductDetailView.product_served``)."""

    pk: int
    viewable: bool  # by a visitor who is not signed in
    is_parent: bool


class ProductDetailView(OscarProductDetailView):
    # Kept whole for cookieless visitors with the buy box live (marketplace/storefront/page_cache.py);
    # a visitor with a browsing history sees it on the page, so theirs is rendered.
    anonymous_page_cache = True
    anonymous_page_neutral_cookies = NEUTRAL_COOKIES - {CustomerHistoryManager.cookie_name}

    @classmethod
    def anonymous_page_serve(
        cls, request: HttpRequest, view_kwargs: dict[str, Any], stored: StoredPage
    ) -> HttpResponse | None:
        """A stored product page with its buy box rendered now (price, stock, basket form), and what
        ``get`` does after rendering: the view counted and the browsing-history cookie set (the
        ``product_viewed`` signal). None when the product is no longer viewable: ``get`` answers."""
        view = cls()
        view.setup(request, **view_kwargs)
        served = view.product_served()
        if served is None or not served.viewable:
            return None
        buy_box = view.anonymous_buy_box(served)
        response = HttpResponse(stored.serve(request, {BUY_BOX: buy_box}), content_type=stored.content_type)
        # The signal's receivers (the view counted, the history cookie) read the product's id; any other
        # field of this stand-in is read from the database when asked for.
        view.send_signal(request, response, Product.from_db(None, ["id"], [served.pk]))
        return response

    def product_served(self) -> ProductServed | None:
        """What serving a stored page of the product needs to know of it, kept by catalogue version beside
        the product: a few fields rather than the product, its shop and certifications to unpickle (40 µs
        of the page's 800). None when there is no such product."""

        def load() -> ProductServed | None:
            try:
                product = self.product_cached()
            except Http404:
                return None
            # A stored page is served only to visitors with no cookie, so not signed in: viewable is theirs.
            return ProductServed(product.pk, self.is_viewable(product, self.request), product.is_parent)

        return cached_by_version("product-served", self.kwargs["pk"], load)

    def anonymous_buy_box(self, served: ProductServed) -> str:
        """The buy box for a cookieless visitor. Rendered once per state of what it shows — the catalogue
        version, language, day (pre-sale and season), and each stock record's price and stock — and kept
        with its CSRF token cut out; the visitor's own token is put in on every serve."""
        request = self.request
        if served.is_parent:  # its children's stock is not in the key
            return self._buy_box_render(self._object_set())
        stock = product_stock_state(product_id=served.pk)
        state = repr((request.LANGUAGE_CODE, timezone.localdate().isoformat(), stock))
        digest = hashlib.sha256(state.encode()).hexdigest()
        key = f"storefront:buy-box:{catalogue_version()}:{served.pk}:{digest}"
        fragments = fragment_cache()
        kept = fragments.get(key)
        if not isinstance(kept, str):
            kept = CSRF_FIELD.sub(rf"\g<1>{CSRF_HOLE}\g<2>", self._buy_box_render(self._object_set()))
            fragments.set(key, kept, fragment_seconds())
        return kept.replace(CSRF_HOLE, csrf_token(request)) if CSRF_HOLE in kept else kept

    def _object_set(self) -> Product:
        """The product as cached, as the view's object (the buy box's template reads it from the view)."""
        self.object = self.product_cached()
        return self.object

    def _buy_box_render(self, product: Product) -> str:
        prefetch_related_objects([product], "stockrecords")
        return render_to_string(
            "storefront/partials/buy_box.html",
            # No session, so no earlier form data to show again: the basket form is written, not built.
            {
                "product": product,
                "alert_form": self.get_alert_form(),
                "has_active_alert": False,
                "lean_basket_form": True,
            },
            request=self.request,
        )

    def get_queryset(self) -> QuerySet[Any]:
        # Stock records are not kept with the cached product: get_object reads them per request. The shop's
        # places and the origin are read by the kept facts only when they are drawn (storefront/kept.py):
        # the eight-table join they took cost more to build than the page's kept parts to read.
        return Product.objects.select_related(*PAGE_RELATED).prefetch_related("certifications")

    def get_object(self, queryset: QuerySet[Any] | None = None) -> Product:
        """The product with its shop and certifications, from the cache when the
        catalogue has not changed since it was stored (a catalogue change moves the version on)."""
        if hasattr(self, "object"):
            return self.object
        product = self.product_cached(queryset)
        # Orders move stock without changing the catalogue's version, so the buy box's price, stock and
        # basket form read the stock records now (one query by the product's index), not from the copy.
        prefetch_related_objects([product], "stockrecords")
        return product

    def product_cached(self, queryset: QuerySet[Any] | None = None) -> Product:
        """The product as cached, without its stock records."""
        product = cached_by_version("product", self.kwargs["pk"], lambda: self._load_product(queryset))
        if product is None:  # Oscar's loader raises 404 first; this keeps the type honest
            raise Http404
        return product

    def _load_product(self, queryset: QuerySet[Any] | None) -> Product:
        # The page's kept parts are read before the product they are drawn from, and the product is kept
        # with them: read in their one query while nothing it carries has changed (kept.py; what moves the
        # product scope on: storefront/receivers.py).
        return kept_object_load(
            self.request,
            scope=PRODUCT_SCOPE,
            key=self.kwargs["pk"],
            load=lambda: self._product_from_db(queryset),
            keep=True,
        )

    def _product_from_db(self, queryset: QuerySet[Any] | None) -> Product:
        product = super().get_object(queryset)
        # Oscar's cached properties, computed now so they travel with the kept and cached object.
        product.has_options  # noqa: B018
        product.num_approved_reviews  # noqa: B018
        return product

    def is_viewable(self, product: Product, request: HttpRequest) -> bool:
        shop_open = product.shop is not None and product.shop.is_open
        # The association's staff see a listing before it is on sale: they review it as buyers will see it.
        return (
            (shop_open and super().is_viewable(product, request))
            or request.user.is_staff
            or association_member(request.user)
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["product_attributes"] = lazy_list(
            lambda: self.object.attribute_values.select_related("attribute", "value_option").order_by(
                "attribute__name"
            )
        )
        # Not cached with the page's fragments: it carries the visitor's CSRF token.
        ctx["report_form"] = ListingReportForm() if self.request.user.is_authenticated else None
        # A visitor with no session has no earlier form data to show again: the basket form is written, not
        # built, as in a stored page's buy box (anonymous_buy_box).
        ctx["lean_basket_form"] = settings.SESSION_COOKIE_NAME not in self.request.COOKIES
        return ctx


@post_rate_limit(REPORT_RATE)
class ListingReportView(LoginRequiredMixin, FormView):
    """A signed-in buyer reports a listing on sale to the association (from the product page, or this
    page when the report needs correcting). The listing stays on sale and enters the review queue."""

    template_name = "storefront/listing_report.html"
    form_class = ListingReportForm

    def get_product(self) -> Product:
        if not hasattr(self, "product"):
            self.product = (
                Product.objects.storefront()
                .filter(listing_status=Product.ListingStatus.LIVE)
                .filter(pk=self.kwargs["pk"])
                .first()
            )
            if self.product is None:
                raise Http404
        return self.product

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(product=self.get_product(), **kwargs)

    def form_valid(self, form: ListingReportForm) -> HttpResponse:
        product = self.get_product()
        try:
            listing_report_create(
                product=product,
                reporter=self.request.user,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
            )
        except ListingReportError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("Thank you: the shop association will look at this listing."))
        return redirect(product.get_absolute_url())

    def form_invalid(self, form: ListingReportForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


from oscar.apps.catalogue.views import CatalogueView, ProductCategoryView  # noqa: E402,F401
