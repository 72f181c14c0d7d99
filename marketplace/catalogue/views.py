"""The product page: Oscar's view, hiding products of shops that are not open, and loading only what
the page's live parts need (price, stock, badges); photos, facts and attributes are read lazily by
fragments that are usually served from the cache (marketplace/storefront/caching.py)."""

from oscar.apps.catalogue.views import ProductDetailView as OscarProductDetailView
from oscar.core.loading import get_model

from marketplace.storefront.caching import cached_by_version
from marketplace.storefront.listing import lazy_list
from marketplace.storefront.selectors import CARD_RELATED

Product = get_model("catalogue", "Product")


class ProductDetailView(OscarProductDetailView):
    def get_queryset(self):
        return Product.objects.select_related(*CARD_RELATED, "shop__province", "shop__city").prefetch_related(
            "stockrecords", "certifications"
        )

    def get_object(self, queryset=None):
        """The product with its shop, stock records and certifications, from the cache when the
        catalogue has not changed since it was stored (a catalogue change moves the version on)."""
        if hasattr(self, "object"):
            return self.object
        return cached_by_version("product", self.kwargs["pk"], lambda: self._load_product(queryset))

    def _load_product(self, queryset):
        product = super().get_object(queryset)
        # Oscar's cached properties, computed now so they travel with the cached object.
        product.has_options  # noqa: B018
        product.num_approved_reviews  # noqa: B018
        return product

    def is_viewable(self, product, request):
        shop_open = product.shop is not None and product.shop.is_open
        return (shop_open and super().is_viewable(product, request)) or request.user.is_staff

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["product_attributes"] = lazy_list(
            lambda: self.object.attribute_values.select_related("attribute", "value_option").order_by(
                "attribute__name"
            )
        )
        return ctx


from oscar.apps.catalogue.views import CatalogueView, ProductCategoryView  # noqa: E402,F401
