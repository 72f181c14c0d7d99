"""Text from data in the other language than the page's (a shop's Chinese name on an English page, a person's
name, an address or a note as typed) is marked with its language (WCAG 3.1.2, Language of Parts), so a screen
reader speaks it with the right voice and tests can tell it from untranslated interface text.

``{{ shop.name|in_own_language }}`` writes the text, wrapped in ``<span lang="zh-Hans">`` when its script
is not the page's; ``<img alt="{{ title }}"{{ title|lang_attribute }}>`` marks an element whose words are
all that text. The language is read from the script: Chinese characters are zh-Hans, Latin letters without
any are en; digits and signs alone are no language."""

import re

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

register = template.Library()

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")


def text_language(text: str) -> str:
    """The script's language: "zh-Hans", "en" or "" (no letters to tell by)."""
    if HAN.search(text):
        return "zh-Hans"
    if LATIN.search(text):
        return "en"
    return ""


def _foreign(text: object) -> str:
    """The text's language when it is not the page's, else ""."""
    language = text_language(str(text or ""))
    page = (get_language() or "zh-hans").lower().split("-")[0]
    if language and language.lower().split("-")[0] != page:
        return language
    return ""


@register.filter
def in_own_language(text: object) -> SafeString:
    language = _foreign(text)
    if language:
        return format_html('<span lang="{}">{}</span>', language, text)
    return format_html("{}", "" if text is None else text)


@register.filter
def lang_attribute(text: object) -> SafeString:
    language = _foreign(text)
    return format_html(' lang="{}"', language) if language else SafeString("")


@register.filter
def breadcrumb_label_translated(html: str) -> SafeString:
    """Oscar's templates name their breadcrumb trail ``aria-label="breadcrumb"`` in English, in a dozen
    templates (the account, basket, registration, password reset, wish list and offer pages); the layout
    passes the breadcrumbs block through this filter rather than copying each of those templates."""
    label = format_html('aria-label="{}"', gettext("Breadcrumb"))
    return mark_safe(str(html).replace('aria-label="breadcrumb"', label))  # noqa: S308  (the block was safe)
