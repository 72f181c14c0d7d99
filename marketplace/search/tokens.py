"""Turning text into search tokens, the same way at index time and at query time.

CJK runs give unigrams and overlapping bigrams (what Lucene's CJK analyzer does), so one-character
queries (茶) and longer ones (水蜜桃 → 水蜜 + 蜜桃) both hit the index; Latin words give their prefixes,
so ``peach`` finds "peaches". CJK text is also cut into words (jieba, with the produce words of
``words.txt``): a word's pinyin is indexed from each word start, in full and as initials (``shuimitao``,
``smt``, ``yangshan``), and a query is searched word by word rather than as one unbroken run.

Each token carries a weight: where it was found (the produce's kind, its name, or its shop and
place) and whether it sits at the edge of a word (茶 in 茶叶 or 红茶) or inside one (茶 in 山茶油). A
result's rank is the sum of its matched tokens' weights, so a buyer searching 茶 sees tea before
camellia oil.
"""

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jieba
from pypinyin import lazy_pinyin

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[0-9a-z]+")
PINYIN_SYLLABLE = re.compile(r"[a-z]+")

MAX_TOKEN_LENGTH = 32
MAX_PREFIX_LENGTH = 20
# Pinyin from a word start runs over at most this many words ("yangshanshuimitao" is two).
PINYIN_MAX_WORDS = 3
PINYIN_MIN_INITIALS = 2
# A query is cut to this many characters: buyers type short queries, and a 2,000-character paste
# must cost no more than a normal search.
MAX_QUERY_LENGTH = 64
MAX_QUERY_TOKENS = 16
WORDS_FILE = Path(__file__).with_name("words.txt")


@dataclass(frozen=True)
class FieldWeight:
    """The weight of a token found in one kind of field: at a word's edge, or inside a word."""

    edge: int
    inner: int


# The produce's kind (its categories, product class and variety) outranks its name, which outranks
# its shop and places: 茶 at the edge of 茶叶 or 红茶 (10) beats 茶 inside 山茶油 (4 as a category,
# 3 in a name). Numbers, not an order, because a query's tokens add up.
KIND = FieldWeight(edge=10, inner=4)
NAME = FieldWeight(edge=6, inner=3)
PLACE = FieldWeight(edge=2, inner=1)
CODE = FieldWeight(edge=1, inner=1)


def normalise(text: str) -> str:
    """Full-width to half-width, compatibility forms folded, lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


@functools.cache
def _segmenter() -> jieba.Tokenizer:
    """jieba's dictionary plus the produce words; loaded once per process (about 0.7 s, then cached)."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(WORDS_FILE))
    return tokenizer


def warm_up() -> None:
    """Load the word dictionary now rather than in a buyer's first search (web and worker start)."""
    _segmenter()


@functools.lru_cache(maxsize=65536)
def words(run: str) -> tuple[str, ...]:
    """A run of CJK characters cut into words: 阳山水蜜桃 → 阳山, 水蜜桃."""
    return tuple(w for w in _segmenter().lcut(run, HMM=False) if w)


@functools.lru_cache(maxsize=65536)
def _syllables(word: str) -> tuple[str, ...]:
    return tuple(s for s in lazy_pinyin(word, errors="ignore") if PINYIN_SYLLABLE.fullmatch(s))


def pinyin(text: str) -> str:
    """The full pinyin of the CJK in ``text``, without tones or spaces (水密桃 → shuimitao)."""
    return "".join("".join(_syllables(w)) for run in CJK_RUN.findall(normalise(text)) for w in words(run))


def _pinyin_tokens(run_words: tuple[str, ...]) -> Iterator[str]:
    """From each word start: the pinyin of one, two … up to PINYIN_MAX_WORDS words, growing a syllable at a
    time (yang, yangshan, yangshanshui …), and their initials (ys, yss …)."""
    for start in range(len(run_words)):
        syllables = [s for w in run_words[start : start + PINYIN_MAX_WORDS] for s in _syllables(w)]
        full = initials = ""
        for syllable in syllables:
            full += syllable
            initials += syllable[0]
            if len(full) <= MAX_PREFIX_LENGTH:
                yield full
            if len(initials) >= PINYIN_MIN_INITIALS:
                yield initials


def _cjk_tokens(run: str, weight: FieldWeight) -> Iterator[tuple[str, int]]:
    """Unigrams and bigrams of a run, at edge weight where they start or end a word, and pinyin."""
    run_words = words(run)
    starts, ends = set(), set()
    position = 0
    for word in run_words:
        starts.add(position)
        position += len(word)
        ends.add(position)
    for i, char in enumerate(run):
        yield char, weight.edge if (i in starts or i + 1 in ends) else weight.inner
        if i + 1 < len(run):
            yield run[i : i + 2], weight.edge if (i in starts or i + 2 in ends) else weight.inner
    for token in _pinyin_tokens(run_words):
        yield token, weight.edge


def _latin_tokens(word: str, weight: FieldWeight) -> Iterator[tuple[str, int]]:
    """A Latin word's prefixes (peach → p … peach), all at a word's edge."""
    for n in range(1, min(len(word), MAX_PREFIX_LENGTH) + 1):
        yield word[:n], weight.edge


def field_tokens(text: str, weight: FieldWeight) -> dict[str, int]:
    """The tokens of one field's text, each with its best weight in that field."""
    found: dict[str, int] = {}
    text = normalise(text)
    pairs: list[Iterable[tuple[str, int]]] = [_cjk_tokens(run, weight) for run in CJK_RUN.findall(text)]
    pairs += [_latin_tokens(word, weight) for word in LATIN_WORD.findall(text)]
    for tokens in pairs:
        for token, w in tokens:
            if found.get(token, 0) < w:
                found[token] = w
    return found


def weighted_tokens(fields: Iterable[tuple[str | None, FieldWeight]]) -> dict[str, int]:
    """The tokens of several fields, each token at the best weight any field gives it."""
    found: dict[str, int] = {}
    for text, weight in fields:
        if not text:
            continue
        for token, w in field_tokens(text, weight).items():
            if found.get(token, 0) < w:
                found[token] = w
    return found


def index_tokens(text: str) -> set[str]:
    """The tokens of ``text`` as one field (what a query for any of them would match)."""
    return set(field_tokens(text, NAME))


@dataclass(frozen=True)
class QueryTerm:
    """One word of a query: every token must match, and a CJK word must appear as written."""

    text: str
    tokens: tuple[str, ...]
    phrase: str | None = None

    @property
    def is_cjk(self) -> bool:
        return bool(CJK_RUN.fullmatch(self.text))


def term_for(word: str) -> QueryTerm:
    if CJK_RUN.fullmatch(word):
        if len(word) == 1:
            return QueryTerm(text=word, tokens=(word,))
        bigrams = tuple(dict.fromkeys(word[i : i + 2] for i in range(len(word) - 1)))
        return QueryTerm(text=word, tokens=bigrams, phrase=word)
    return QueryTerm(text=word, tokens=(word[:MAX_PREFIX_LENGTH],))


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the normalised query as searched (possibly shortened)
    terms: tuple[QueryTerm, ...]
    shortened: bool
    pieces: tuple[str, ...] = ()  # the CJK runs and Latin words as typed, before cutting into words

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token of every term (each must match)."""
        return tuple(dict.fromkeys(t for term in self.terms for t in term.tokens))

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(term.phrase for term in self.terms if term.phrase)

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def with_terms(self, terms: Iterable[QueryTerm]) -> "ParsedQuery":
        return ParsedQuery(text=self.text, terms=tuple(terms), shortened=self.shortened, pieces=self.pieces)

    def by_sound(self) -> "ParsedQuery | None":
        """The query with each Chinese run replaced by its pinyin (水密桃 → shuimitao: a homophone typed
        by a pinyin keyboard sounds like the word meant); None when it has no Chinese."""
        if not any(CJK_RUN.fullmatch(piece) for piece in self.pieces):
            return None
        terms = [term_for(pinyin(p) if CJK_RUN.fullmatch(p) else p) for p in self.pieces]
        return self.with_terms(t for t in terms if t.text)


def parse_query(raw: str) -> ParsedQuery:
    """A query as words: CJK runs cut by jieba (阳山水蜜桃 → 阳山, 水蜜桃), Latin words as typed; at most
    MAX_QUERY_TOKENS tokens in all."""
    text = " ".join(normalise(raw).split())
    shortened = len(text) > MAX_QUERY_LENGTH
    text = text[:MAX_QUERY_LENGTH]
    found: list[str] = []
    pieces = [match.group() for match in re.finditer(f"{CJK_RUN.pattern}|{LATIN_WORD.pattern}", text)]
    for piece in pieces:
        found.extend(words(piece) if CJK_RUN.fullmatch(piece) else [piece])
    terms: list[QueryTerm] = []
    seen: set[str] = set()
    budget = MAX_QUERY_TOKENS
    for word in dict.fromkeys(found):
        term = term_for(word)
        new = [t for t in term.tokens if t not in seen]
        if len(new) > budget:
            break
        budget -= len(new)
        seen.update(new)
        terms.append(term)
    kept = {term.text for term in terms}
    pieces = [p for p in pieces if p in kept or any(w in kept for w in words(p))]
    return ParsedQuery(
        text=text, terms=tuple(terms), shortened=shortened, pieces=tuple(dict.fromkeys(pieces))
    )
