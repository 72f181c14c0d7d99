"""The list pages' pager (``{% pager %}``, storefront_tags.py): written in Python, so its escaping and links
are checked here rather than trusted to the template engine."""

from django.core.paginator import Paginator
from django.template import Context
from django.test import RequestFactory
from django.utils import translation

from marketplace.storefront.templatetags.storefront_tags import pager


def render(number: int, query: str = "", pages: int = 9) -> str:
    request = RequestFactory().get(f"/search/{query}")
    page = Paginator(list(range(pages * 2)), 2).page(number)
    return str(pager(Context({"request": request}), page))


def test_one_page_needs_no_pager():
    assert render(1, pages=1) == ""


def test_the_first_page_links_onwards_keeps_the_query_and_elides_the_middle():
    with translation.override("en"):
        html = render(1, "?q=peach&page=1")
    assert '<a class="pager__link" rel="next" href="?q=peach&amp;page=2">Next ›</a>' in html
    assert '<span class="pager__link is-disabled" aria-hidden="true">‹ Previous</span>' in html
    assert '<span class="pager__link is-current" aria-current="page">1</span>' in html
    assert 'href="?q=peach&amp;page=9" aria-label="Page 9">9</a>' in html
    assert html.count('class="pager__gap"') == 1
    assert "page=5" not in html
    assert "1 / 9" in html


def test_a_middle_page_links_both_ways_in_chinese():
    with translation.override("zh-hans"):
        html = render(6, pages=12)
    assert 'rel="prev" href="?page=5">‹ 上一页</a>' in html
    assert 'rel="next" href="?page=7">下一页 ›</a>' in html
    assert 'aria-label="第 4 页"' in html
    assert "第 6 / 12 页" in html
    assert html.count('class="pager__gap"') == 2


def test_whatever_the_query_holds_is_escaped():
    html = render(2, "?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&x=%27")
    assert "<script" not in html
    assert "'" not in html
    assert "q=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;x=%27&amp;page=1" in html
