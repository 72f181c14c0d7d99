"""Turning text into search tokens, the same way at index time and at query time.

CJK runs give unigrams and overlapping bigrams (what Lucene's CJK analyzer does), so one-character
queries (茶) and longer ones (水蜜桃 → 水蜜 + 蜜桃) both hit the index; Latin words give their prefixes,
so ``peach`` finds "peaches".
"""

import re
import unicodedata
from dataclasses import dataclass

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[0-9a-z]+")

MAX_TOKEN_LENGTH = 32
MAX_PREFIX_LENGTH = 20
# A query is cut to this many characters: buyers type short queries, and a 2,000-character paste
# must cost no more than a normal search.
MAX_QUERY_LENGTH = 64
MAX_QUERY_TOKENS = 16


def normalise(text: str) -> str:
    """Full-width to half-width, compatibility forms folded, lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def index_tokens(text: str) -> set[str]:
    text = normalise(text)
    tokens: set[str] = set()
    for run in CJK_RUN.findall(text):
        tokens.update(run)
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in LATIN_WORD.findall(text):
        tokens.update(word[:n] for n in range(1, min(len(word), MAX_PREFIX_LENGTH) + 1))
    return tokens


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the normalised query as searched (possibly shortened)
    tokens: tuple[str, ...]  # every one must match
    phrases: tuple[str, ...]  # CJK runs that must appear as written
    shortened: bool

    @property
    def is_empty(self) -> bool:
        return not self.tokens


def parse_query(raw: str) -> ParsedQuery:
    text = " ".join(normalise(raw).split())
    shortened = len(text) > MAX_QUERY_LENGTH
    text = text[:MAX_QUERY_LENGTH]
    tokens: list[str] = []
    phrases: list[str] = []
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            phrases.append(run)
    for word in LATIN_WORD.findall(text):
        tokens.append(word[:MAX_PREFIX_LENGTH])
    unique = tuple(dict.fromkeys(tokens))[:MAX_QUERY_TOKENS]
    return ParsedQuery(text=text, tokens=unique, phrases=tuple(phrases), shortened=shortened)
