"""The product page: Oscar's view, loading everything the page shows in a fixed number of queries,
and hiding products of shops that are not open."""

from django.db.models import Prefetch
from oscar.apps.catalogue.views import ProductDetailView as OscarProductDetailView
from oscar.core.loading import get_model

from marketplace.storefront.selectors import product_cards

Product = get_model("catalogue", "Product")
ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")


class ProductDetailView(OscarProductDetailView):
    def get_queryset(self):
        return (
            product_cards(Product.objects.all())
            .select_related("product_class", "shop__province", "shop__city")
            .prefetch_related(
                "categories",
                Prefetch(
                    "attribute_values",
                    queryset=ProductAttributeValue.objects.select_related("attribute", "value_option"),
                ),
            )
        )

    def is_viewable(self, product, request):
        shop_open = product.shop is not None and product.shop.is_open
        return (shop_open and super().is_viewable(product, request)) or request.user.is_staff


from oscar.apps.catalogue.views import CatalogueView, ProductCategoryView  # noqa: E402,F401
