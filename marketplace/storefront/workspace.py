"""The staff workspaces' one shell (the farmer console, the logistics partners' portal, the shop
association's workspace): what their access mixins hand the shared templates under ``workspace/``.

``workspace/base.html`` draws the header, the navigation (``workspace/_nav.html``, from the
``workspace_nav`` items and the ``workspace_section`` the page belongs to), the messages and the page;
``workspace/forbidden.html`` is the 403 page of a signed-in account the workspace is not for."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

FORBIDDEN_TEMPLATE = "workspace/forbidden.html"


class NavItem(NamedTuple):
    url: str
    label: str | Promise
    section: str


def workspace_nav(entries: Iterable[tuple[str, str | Promise, str]]) -> list[NavItem]:
    """The navigation items of ``(url name, label, section)`` entries. An entry whose URL name does not
    resolve is left out: a tab shows once its part of the workspace is installed."""
    items = []
    for name, label, section in entries:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(NavItem(url, label, section))
    return items


@dataclass(frozen=True)
class ForbiddenPage:
    """What a workspace's 403 page says: the workspace, the page's title and heading, what to do, the
    ``data-testid`` of its main; a way out too (``sign_out``) and the workspace's look (its body class and its
    own stylesheet, a static path), if any."""

    workspace: str | Promise
    title: str | Promise
    heading: str | Promise
    paragraphs: Sequence[str | Promise]
    testid: str
    sign_out: bool = False
    workspace_class: str = ""
    stylesheet: str = ""


def workspace_forbidden(request: HttpRequest, page: ForbiddenPage) -> HttpResponse:
    """The workspace's 403 page: who it is for, what to do, a way back to the market (and out)."""
    return render(request, FORBIDDEN_TEMPLATE, {"forbidden": page}, status=403)
