"""Bilingual fields: the marketplace stores Chinese and English side by side and shows the active language."""

import re

from django.utils.translation import get_language

HAN = re.compile(r"[\u3400-\u9fff]")


def is_english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


def pick(zh: str, en: str) -> str:
    """The English text when the page is in English and one exists, else the Chinese text."""
    if en and is_english():
        return en
    return zh or en


def person_name(first_name: str, last_name: str) -> str:
    """A person's name as their language writes it: a Chinese name family name first and without a
    space (郑晓梅), any other given name first (Ada Lovelace)."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if HAN.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()
