"""Search reads: products matching a parsed query, best matches first, and what to search instead when a
query finds nothing (a word misspelt, a homophone typed in Chinese, a word no product has)."""

import difflib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from marketplace.search.models import SearchToken
from marketplace.search.tokens import (
    CJK_RUN,
    LATIN_WORD,
    MAX_PREFIX_LENGTH,
    ParsedQuery,
    QueryTerm,
    pinyin,
)

# Only this many of a query's words are looked at one by one when it finds nothing (each costs a query
# or two); the rest are left out.
FORGIVING_MAX_TERMS = 6
# A query whose words that found nothing make up more than half of it (a Chinese character counting as two
# letters) finds nothing, rather than what its remaining scraps find.
FORGIVING_MIN_KEPT = 0.5
# A Chinese word is searched again by its sound only from two characters on.
MIN_SOUND_CHARACTERS = 2
# A misspelt Latin word is corrected to an indexed word that starts with the same two letters, is about
# as long and is this similar (difflib's ratio): "peech" → "peach", "hony" → "honey".
SPELLING_PREFIX = 2
SPELLING_CUTOFF = 0.75
SPELLING_LENGTH_SLACK = 2
SPELLING_MAX_CANDIDATES = 2000


def product_search(*, query: ParsedQuery, products: QuerySet) -> QuerySet:
    """Narrow ``products`` to those matching every word of ``query``, best first: by the summed weight of
    the matched tokens (the produce's kind over its name over its shop and place), then those whose name
    holds the query as typed, then the newest. Each token is one join on the (token, product) index, whose
    row brings its weight: at 100,000 products a third cheaper than a correlated sum per match."""
    if query.is_empty:
        return products.none()
    score: Any = Value(0)
    for number, token in enumerate(query.tokens):
        alias = f"search_token_{number}"
        products = products.alias(
            **{alias: FilteredRelation("search_tokens", condition=Q(search_tokens__token=token))}
        ).filter(**{f"{alias}__weight__isnull": False})
        score = score + F(f"{alias}__weight")
    for phrase in query.phrases:
        products = products.filter(search_document__text__contains=phrase)
    title_hit = Q(title__icontains=query.text) | Q(title_en__icontains=query.text)
    return products.annotate(
        search_score=ExpressionWrapper(score, output_field=IntegerField()),
        search_rank=Case(When(title_hit, then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("-search_score", "search_rank", "-date_created", "pk")


@dataclass(frozen=True)
class SearchOutcome:
    """What was searched for and what was found: ``query`` may differ from what was typed."""

    products: QuerySet
    query: ParsedQuery
    corrected: tuple[tuple[str, str], ...] = field(default=())  # (as typed, searched instead)
    dropped: tuple[str, ...] = field(default=())  # words that found nothing and were left out
    count: int | None = None  # how many ``products`` holds, where counting them was how it was decided

    @property
    def is_changed(self) -> bool:
        return bool(self.corrected or self.dropped)


def _weight_of(words: list[str]) -> int:
    return sum(2 * len(w) if CJK_RUN.fullmatch(w) else len(w) for w in words)


def _share_dropped(dropped: list[str], query: ParsedQuery) -> float:
    total = _weight_of([term.text for term in query.terms])
    return _weight_of(dropped) / total if total else 1.0


def _finds_any(terms: list[QueryTerm], query: ParsedQuery, products: QuerySet) -> bool:
    return product_search(query=query.with_terms(terms), products=products).exists()


def _spelling_candidates(word: str) -> list[str]:
    """Indexed Latin tokens near ``word`` in spelling, best first."""
    prefix = word[:SPELLING_PREFIX]
    tokens = (
        SearchToken.objects.filter(token__gte=prefix, token__lt=prefix + "\uffff")
        .order_by()
        .values_list("token", flat=True)
        .distinct()[:SPELLING_MAX_CANDIDATES]
    )
    near = {
        t
        for t in tokens
        if LATIN_WORD.fullmatch(t) and abs(len(t) - len(word)) <= SPELLING_LENGTH_SLACK and t != word
    }
    return difflib.get_close_matches(word, sorted(near), n=3, cutoff=SPELLING_CUTOFF)


def _alternatives(term: QueryTerm) -> list[QueryTerm]:
    """What the buyer may have meant: a Chinese word by its sound (水密 → shuimi, as 水蜜桃 is indexed), a
    Latin word by its nearest spellings. Not one character by its sound: 壳 sounds like 克 (ke), in every
    "500克"."""
    if term.is_cjk:
        if len(term.text) < MIN_SOUND_CHARACTERS:
            return []
        sound = pinyin(term.text)[:MAX_PREFIX_LENGTH]
        return [QueryTerm(text=sound, tokens=(sound,))] if sound else []
    if len(term.text) < SPELLING_PREFIX + 1 or not LATIN_WORD.fullmatch(term.text):
        return []
    return [QueryTerm(text=w, tokens=(w,)) for w in _spelling_candidates(term.text)]


def product_search_forgiving(*, query: ParsedQuery, products: QuerySet) -> SearchOutcome:
    """``product_search``, and when it finds nothing, the nearest query that finds something: each word
    that finds nothing on its own is replaced by what it sounds or is spelt like, or left out; words that
    find things alone but nothing together are kept in the order typed while they still find something.
    The outcome says what was changed, for the page to tell the buyer."""
    strict = product_search(query=query, products=products)
    if query.is_empty:
        return SearchOutcome(products=strict, query=query)
    # Counted rather than asked whether any exist: the page's paginator needs the count anyway.
    found = strict.count()
    if found:
        return SearchOutcome(products=strict, query=query, count=found)
    sound = query.by_sound()
    if sound is not None and not sound.is_empty and _finds_any(list(sound.terms), sound, products):
        return SearchOutcome(
            products=product_search(query=sound, products=products),
            query=sound,
            corrected=tuple(
                (typed, pinyin(typed)[:MAX_PREFIX_LENGTH])
                for typed in query.pieces
                if CJK_RUN.fullmatch(typed)
            ),
        )
    kept: list[QueryTerm] = []
    corrected: list[tuple[str, str]] = []
    dropped: list[str] = []
    for position, term in enumerate(query.terms):
        if position >= FORGIVING_MAX_TERMS:
            dropped.append(term.text)
            continue
        for candidate in [term, *_alternatives(term)]:
            if _finds_any([*kept, candidate], query, products):
                kept.append(candidate)
                if candidate is not term:
                    corrected.append((term.text, candidate.text))
                break
        else:
            dropped.append(term.text)
    searched = query.with_terms(kept)
    if not kept or _share_dropped(dropped, query) > 1 - FORGIVING_MIN_KEPT:
        # Most of what was typed matches nothing (手机壳: only 壳 would be left): nothing is better than
        # whatever its last scrap finds.
        return SearchOutcome(products=products.none(), query=searched, dropped=tuple(dropped))
    return SearchOutcome(
        products=product_search(query=searched, products=products),
        query=searched,
        corrected=tuple(corrected),
        dropped=tuple(dropped),
    )
