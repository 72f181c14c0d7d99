"""Catalogue, category and search pages as plain database queries (Oscar's versions go through
Haystack, whose simple engine leaves them empty and whose Whoosh setup is slow and cannot split Chinese)."""

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from marketplace.search.forms import SearchForm
from marketplace.search.picks import KeptSearch, search_keep, search_kept
from marketplace.search.selectors import SearchOutcome, product_search, product_search_forgiving
from marketplace.search.tokens import parse_query
from marketplace.storefront import selectors
from marketplace.storefront.caching import cached_by_version
from marketplace.storefront.category_pick import category_first_page
from marketplace.storefront.kept import CATEGORY_SCOPE, kept_object_load
from marketplace.storefront.listing import lazy_list
from marketplace.storefront.views import ProductListPage

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category, Product
else:
    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")


class CatalogueView(ProductListPage):
    template_name = "oscar/catalogue/browse.html"

    def product_queryset(self) -> QuerySet[Any]:
        return selectors.storefront_products().order_by("-date_created", "pk")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["summary"] = _("All produce")
        ctx["categories"] = lazy_list(selectors.top_categories)
        return ctx


class ProductCategoryView(ProductListPage):
    template_name = "oscar/catalogue/category.html"
    category: Category

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.category = cached_by_version("category", kwargs["pk"], lambda: self._load_category(kwargs["pk"]))
        if self.category is None:
            raise Http404
        if not (self.category.is_public or request.user.is_staff):
            raise Http404
        expected = self.category.get_absolute_url()
        if unquote(expected) != unquote(request.path):
            return HttpResponsePermanentRedirect(expected)
        return super().get(request, *args, **kwargs)

    def _load_category(self, pk: int) -> "Category | None":
        # The page's kept head is read before the category it is drawn from (storefront/kept.py).
        return kept_object_load(
            self.request, scope=CATEGORY_SCOPE, key=pk, load=lambda: selectors.category_for_page(pk=pk)
        )

    def product_queryset(self) -> QuerySet[Any]:
        return selectors.category_products(category=self.category)

    def product_count(self) -> int | None:
        # Kept on the category (marketplace/storefront/shop_counts.py): counting the products of a large
        # category on every page grew with the catalogue.
        return self.category.public_product_count

    def product_first_page(self) -> list[int] | None:
        return category_first_page(self.category)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["category"] = self.category
        ctx["subcategories"] = lazy_list(lambda: selectors.public_children(category=self.category))
        return ctx


class FacetedSearchView(ProductListPage):
    """The search page (named as Oscar's so its URL config picks it up)."""

    template_name = "oscar/search/results.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.form = SearchForm(request.GET)
        raw = self.form.cleaned_data["q"] if self.form.is_valid() else request.GET.get("q", "")[:2000]
        self.query = parse_query(raw)
        self.raw_query = raw
        return super().get(request, *args, **kwargs)

    @cached_property
    def kept(self) -> KeptSearch | None:
        return search_kept(self.query)

    @cached_property
    def outcome(self) -> SearchOutcome:
        """What is searched for (when the query finds nothing, what is searched instead), decided when the
        page's list is first drawn: a page whose list is cached asks nothing. A search kept with its count
        (``picks.py``) is neither counted nor ranked for its first page."""
        if self.kept is not None:
            # Searched as typed; its list is the view's (``product_queryset``), built only if a page needs it.
            return SearchOutcome(products=Product.objects.none(), query=self.query, count=self.kept.count)
        return product_search_forgiving(query=self.query, products=selectors.storefront_products())

    def product_queryset(self) -> QuerySet[Any]:
        if self.kept is not None:
            return product_search(query=self.query, products=selectors.storefront_products())
        return self.outcome.products

    def product_count(self) -> int | None:
        return self.outcome.count

    def product_first_page(self) -> list[int] | None:
        if self.kept is not None:
            return self.kept.product_ids
        outcome = self.outcome
        if outcome.query is not self.query or not outcome.count:
            return None  # searched for something else (or nothing found): not kept under what was typed
        return search_keep(self.query, ranked=outcome.products, count=outcome.count)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            {
                "query": self.raw_query,
                "parsed_query": self.query,
                "search_outcome": SimpleLazyObject(lambda: self.outcome),
                "search_form": self.form,
                "categories": lazy_list(selectors.top_categories),
            }
        )
        return ctx
