"""What a person meets on the first run (issue 15, point 5): every page names an icon that is served,
and a client asking for ``/favicon.ico`` is sent to it instead of a 404."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.marketplace.test_role_links import as_role, product  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="/static/([^"]+)"')

PAGES = {
    "visitor": "/",
    "farmer": "/shop/",
    "association": "/association/",
    "logistics partner": "/logistics/",
}


@pytest.mark.parametrize(("role", "path"), PAGES.items())
def test_every_kind_of_page_names_an_icon_that_is_served(role, path, product):  # noqa: F811
    client = as_role(role, product)
    response = client.get(path, follow=True)
    assert response.status_code == 200, path
    found = ICON.search(response.content.decode())
    assert found, f"{path} names no icon"
    assert finders.find(found[1]), found[1]


def test_favicon_ico_is_sent_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert finders.find(response["Location"].removeprefix("/static/"))
