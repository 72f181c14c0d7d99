"""The storefront's own pages: home, shops and places. Catalogue, category and search pages live in
the forked search app; product and basket pages are Oscar's with our templates.

Catalogue data reaches templates lazily (``LazyProductPage``, callables), so a page whose fragments
come from the cache (``marketplace/storefront/caching.py``) runs no catalogue query."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.templatetags.static import static
from django.views.generic import ListView, RedirectView, TemplateView

from marketplace.storefront import selectors
from marketplace.storefront.caching import cached_by_version
from marketplace.storefront.listing import LazyProductPage, lazy_list
from marketplace.storefront.season_pick import season_pick


class ProductListPage(TemplateView):
    """A page with a paginated grid of product cards (read lazily)."""

    # The same page for every cookieless visitor: kept whole (marketplace/storefront/page_cache.py).
    anonymous_page_cache = True

    def product_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def product_count(self) -> int | None:
        """The queryset's count where the view already knows it (else the paginator counts)."""
        return None

    def product_first_page(self) -> list[int] | None:
        """The first page's ids with one more, where they are kept (used with a known count only)."""
        return None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        listing = LazyProductPage(
            self.product_queryset,
            page=self.request.GET.get("page"),
            per_page=settings.OSCAR_PRODUCTS_PER_PAGE,
            count=self.product_count,
            first_page=self.product_first_page,
        )
        ctx.update(listing.context())
        return ctx


class HomeView(TemplateView):
    template_name = "storefront/home.html"
    anonymous_page_cache = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        # Read on first use: a cached home page reads none of them.
        ctx["in_season"] = lazy_list(season_pick)
        ctx["shops"] = lazy_list(lambda: selectors.open_shops(limit=12))
        ctx["categories"] = lazy_list(selectors.top_categories)
        ctx["places"] = lazy_list(selectors.places_with_shops)
        return ctx


class ShopListView(ListView):
    template_name = "storefront/shop_list.html"
    context_object_name = "shops"
    paginate_by = 30

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.open_shops()


class ShopDetailView(ProductListPage):
    template_name = "storefront/shop_detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.shop = cached_by_version(
            "shop", kwargs["code"], lambda: selectors.shop_for_page(code=kwargs["code"])
        )
        if self.shop is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def product_queryset(self) -> QuerySet[Any]:
        return selectors.shop_products(shop=self.shop)

    def product_count(self) -> int | None:
        # Kept on the shop (marketplace/storefront/shop_counts.py), as its card shows it.
        shop = self.shop
        if shop is None or not shop.is_open:  # get() answered 404 for no shop
            return 0
        return shop.public_product_count

    def product_first_page(self) -> list[int] | None:
        if self.shop is None:
            return None
        return selectors.shop_first_page(shop_id=self.shop.pk, page_size=settings.OSCAR_PRODUCTS_PER_PAGE)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["shop"] = self.shop
        return ctx


class PlaceListView(TemplateView):
    template_name = "storefront/place_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["places"] = selectors.places_with_shops()
        return ctx


class PlaceDetailView(ProductListPage):
    template_name = "storefront/place_detail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.place = cached_by_version(
            "place", kwargs["pk"], lambda: selectors.place_for_page(pk=kwargs["pk"])
        )
        if self.place is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def product_queryset(self) -> QuerySet[Any]:
        return selectors.place_products(place=self.place)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["place"] = self.place
        ctx["shops"] = lazy_list(lambda: selectors.place_shops(place=self.place))
        return ctx


class FaviconView(RedirectView):
    """``/favicon.ico`` for clients that ask for it without reading the page's icon link."""

    permanent = True

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static("storefront/favicon.svg")
