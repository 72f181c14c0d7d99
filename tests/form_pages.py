"""What a workspace page answered with a refused form must show (marketplace.storefront.form_pages): the page
itself, not a redirect, with the form bound to what was typed and every one of its errors on the page."""

from collections.abc import Iterable

from django.utils import translation
from django.utils.html import escape


def page_kept(response, *, form: str, typed: Iterable[str], status: int = 400) -> str:
    """The page's HTML, once checked: ``status``, the bound form ``form`` in its context, each ``typed`` value
    and each of the form's errors (in the page's language) in the HTML."""
    assert response.status_code == status, getattr(response, "url", "")
    html = response.content.decode()
    bound = response.context[form]
    assert bound.is_bound
    assert bound.errors
    for value in typed:
        assert escape(value) in html, value[:40]
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        for errors in bound.errors.values():
            for error in errors:
                assert escape(str(error)) in html, str(error)
    return html
