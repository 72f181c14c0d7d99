"""Search reads: products matching a parsed query, best matches first."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from marketplace.search.models import SearchToken
from marketplace.search.tokens import ParsedQuery


def product_search(*, query: ParsedQuery, products: QuerySet) -> QuerySet:
    """Narrow ``products`` to those matching every token of ``query``; title matches rank first."""
    if query.is_empty:
        return products.none()
    for token in query.tokens:
        products = products.filter(pk__in=SearchToken.objects.filter(token=token).values("product_id"))
    for phrase in query.phrases:
        products = products.filter(search_document__text__contains=phrase)
    title_hit = Q(title__icontains=query.text) | Q(title_en__icontains=query.text)
    return products.annotate(
        search_rank=Case(When(title_hit, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("search_rank", "-date_created", "pk")
