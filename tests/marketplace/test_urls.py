"""The root URLs (marketplace/urls.py): the storefront's and Oscar's includes come before the other apps' so
that the pages most requested resolve soonest; that order must change what no address resolves to."""

import re

from django.urls import URLPattern, URLResolver

from marketplace import urls


def routes(patterns, prefix: str = "") -> list[str]:
    """Every endpoint's route, its includes' prefixes joined (regular expressions without their anchors)."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern).removeprefix("^")
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            found.append(route)
    return found


def first_segment(route: str) -> str:
    return route.split("/", 1)[0]


def test_the_storefront_includes_first_take_no_address_of_the_apps_after_them():
    root = urls.urlpatterns
    last_include = max(i for i, pattern in enumerate(root) if str(pattern.pattern) == "")
    early, later = root[: last_include + 1], root[last_include + 1 :]
    early_routes = routes([pattern for pattern in early if str(pattern.pattern) == ""])
    assert "catalogue/" in early_routes  # Oscar's catalogue is among them
    later_segments = {first_segment(route) for route in routes(later)}
    assert {"shop", "admin", "payments", "api", "open-data"} <= later_segments
    for route in early_routes:
        segment = first_segment(route)
        # A literal first segment (or the home page, ""): no pattern that could take any first segment.
        assert not re.search(r"[<(\[\\]", segment), route
        assert segment not in later_segments or segment == "", route
        if segment == "":
            assert route in ("", "$"), route  # only the home page itself, not every address


def test_the_urls_before_the_storefront_are_exact_ones():
    # Before the two includes: the probes, the language switch, the icon and the password reset, each a
    # single address, so nothing the includes answered before is taken from them.
    root = urls.urlpatterns
    first_include = min(i for i, pattern in enumerate(root) if str(pattern.pattern) == "")
    assert all(isinstance(pattern, URLPattern) for pattern in root[:first_include])
