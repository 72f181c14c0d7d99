"""The storefront's own pages: home, shops and places. Catalogue, category and search pages live in
the forked search app; product and basket pages are Oscar's with our templates."""

from django.conf import settings
from django.http import Http404
from django.views.generic import ListView, TemplateView

from marketplace.storefront import selectors


class ProductListMixin:
    """A paginated list of product cards; a page number out of range is a 404, never a 500."""

    context_object_name = "products"

    def get_paginate_by(self, queryset):
        return settings.OSCAR_PRODUCTS_PER_PAGE


class HomeView(TemplateView):
    template_name = "storefront/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["in_season"] = selectors.products_in_season(limit=12)
        ctx["shops"] = list(selectors.open_shops(limit=12))
        ctx["categories"] = list(selectors.top_categories())
        ctx["places"] = selectors.places_with_shops()
        return ctx


class ShopListView(ListView):
    template_name = "storefront/shop_list.html"
    context_object_name = "shops"
    paginate_by = 30

    def get_queryset(self):
        return selectors.open_shops()


class ShopDetailView(ProductListMixin, ListView):
    template_name = "storefront/shop_detail.html"

    def get(self, request, *args, **kwargs):
        self.shop = selectors.shop_for_page(code=kwargs["code"])
        if self.shop is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.shop_products(shop=self.shop)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["shop"] = self.shop
        return ctx


class PlaceListView(TemplateView):
    template_name = "storefront/place_list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["places"] = selectors.places_with_shops()
        return ctx


class PlaceDetailView(ProductListMixin, ListView):
    template_name = "storefront/place_detail.html"

    def get(self, request, *args, **kwargs):
        self.place = selectors.place_for_page(pk=kwargs["pk"])
        if self.place is None:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.place_products(place=self.place)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["place"] = self.place
        ctx["shops"] = list(selectors.place_shops(place=self.place))
        return ctx
