"""Product lists that touch the database only when a template reads them, as the ids of their products.

A page whose grid comes from the fragment cache never evaluates its queryset, so a cached page runs
no catalogue query at all. A page number out of range raises Http404 when the list is first read.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast, overload

from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.utils.functional import SimpleLazyObject, cached_property


class LazyProductPage:
    def __init__(
        self,
        queryset: Callable[[], QuerySet],
        *,
        page: str | int | None,
        per_page: int,
        count: Callable[[], int | None] = lambda: None,
        first_page: Callable[[], list[int] | None] = lambda: None,
    ) -> None:
        self._queryset = queryset
        self._count = count
        self._first_page = first_page
        self._page = page or 1
        self._per_page = per_page

    @cached_property
    def page_obj(self) -> Page[Any]:
        # The page's products as ids: their cards are read as drawn (marketplace/storefront/cards.py). The
        # query is built only if it is run: a kept first page with a kept count needs none.
        ids = _LazyIds(self._queryset)
        paginator: Paginator[int] = Paginator(ids, self._per_page)
        known = self._count()
        shown: list[int] | None = None
        if known is not None:
            shown = self._known_count_checked(ids, paginator, known)
        try:
            if shown is not None:
                return Page(shown, paginator.validate_number(self._page), paginator)
            page = paginator.page(self._page)
        except InvalidPage as error:
            raise Http404(str(error)) from error
        page.object_list = list(page.object_list)
        return page

    def _known_count_checked(self, ids: "_LazyIds", paginator: Paginator, known: int) -> list[int] | None:
        """A count the view knows (kept on the shop or category, or counted by the search) is used when the
        page agrees with it: the page is read with one row more than it shows, which tells whether more
        follow. A count that lags a change (kept counts are recounted after it, through the outbox) does not
        agree, and the paginator counts. Returns the page's ids where they were read."""
        try:
            number = int(self._page)
        except (TypeError, ValueError):
            return None  # the paginator says why not
        if number < 1:
            return None
        bottom = (number - 1) * self._per_page
        if number > 1 and bottom >= known:
            return None  # past the known end (or a number beyond the database's integers): the paginator says
        kept = self._first_page() if number == 1 else None  # the first page with one more, kept
        read = kept if kept is not None else list(ids[bottom : bottom + self._per_page + 1])
        more = len(read) > self._per_page
        if (more and known > bottom + self._per_page) or (not more and known == bottom + len(read)):
            paginator.count = known  # Paginator.count is a cached property: known, not counted again
            return read[: self._per_page]
        return None

    def context(self) -> dict:
        """The names Django's ListView gives templates, each evaluated on first use."""
        return {
            "page_obj": SimpleLazyObject(lambda: self.page_obj),
            "paginator": SimpleLazyObject(lambda: self.page_obj.paginator),
            "products": SimpleLazyObject(lambda: self.page_obj.object_list),
            "is_paginated": SimpleLazyObject(lambda: self.page_obj.paginator.num_pages > 1),
        }


class _LazyIds:
    """A list's ids as the paginator sees them (counted, sliced), its query built on first use."""

    def __init__(self, queryset: Callable[[], QuerySet]) -> None:
        self._make = queryset

    @cached_property
    def _ids(self) -> QuerySet:
        return self._make().values_list("pk", flat=True)

    def count(self) -> int:
        return self._ids.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    @overload
    def __getitem__(self, index: int, /) -> int: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice, /) -> int | Sequence[int]:
        return cast("int | Sequence[int]", self._ids[index])


def lazy_list(read: Callable[[], Iterable[object]]) -> SimpleLazyObject:
    """A list read from the database once, on first use in a template (never if the fragment is cached)."""
    return SimpleLazyObject(lambda: list(read()))
