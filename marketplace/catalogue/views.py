"""The product page: Oscar's view, hiding products of shops that are not open, and loading only what
the page's live parts need (price, stock, badges); photos, facts and attributes are read lazily by
fragments that are usually served from the cache (marketplace/storefront/caching.py)."""

from oscar.apps.catalogue.views import ProductDetailView as OscarProductDetailView
from oscar.core.loading import get_model

from marketplace.storefront.listing import lazy_list
from marketplace.storefront.selectors import CARD_RELATED

Product = get_model("catalogue", "Product")


class ProductDetailView(OscarProductDetailView):
    def get_queryset(self):
        return Product.objects.select_related(*CARD_RELATED, "shop__province", "shop__city").prefetch_related(
            "stockrecords", "certifications"
        )

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
