"""Bilingual fields: the marketplace stores Chinese and English side by side and shows the active language."""

from django.utils.translation import get_language


def is_english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


def pick(zh: str, en: str) -> str:
    """The English text when the page is in English and one exists, else the Chinese text."""
    if en and is_english():
        return en
    return zh or en
