"""Every /association/ URL, taken from the workspace's URL conf (so a page added tomorrow is walked too),
answers 403 or 404 to a farmer and to a buyer, for GET and POST alike, and changes nothing; a visitor
who is not signed in is sent to sign in; a member of the association's group gets in."""

import pytest
from django.urls import URLPattern, URLResolver, reverse
from oscar.test.factories import UserFactory

from shops.association import urls as association_urls
from shops.association.models import AuditEntry
from tests.factories import ShopFactory, association_member

pytestmark = pytest.mark.django_db

# Any value of the right shape will do: the request must be refused before the object is looked at.
ARGUMENT_VALUES = {
    "int": 1,
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000001",
}


def workspace_urls() -> list[str]:
    """Every pattern of the workspace (included ones too), reversed with placeholder arguments."""
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, f"{prefix}{pattern.namespace + ':' if pattern.namespace else ''}")
            elif isinstance(pattern, URLPattern) and pattern.name:
                kwargs = {
                    name: ARGUMENT_VALUES[type(conv).__name__.removesuffix("Converter").lower()]
                    for name, conv in pattern.pattern.converters.items()
                }
                found.append(reverse(f"{prefix}{pattern.name}", kwargs=kwargs))

    walk(association_urls.urlpatterns, "association:")
    return found


def farmer():
    user = UserFactory()
    ShopFactory().users.add(user)
    return user


def test_the_walk_finds_the_workspace():
    urls = workspace_urls()
    assert reverse("association:home") in urls
    assert all(url.startswith("/association/") for url in urls)


@pytest.mark.parametrize("make_user", [farmer, UserFactory], ids=["farmer", "buyer"])
def test_every_workspace_url_is_refused_to_a_farmer_and_a_buyer(client, make_user):
    client.force_login(make_user())
    for url in workspace_urls():
        for method in (client.get, client.post):
            response = method(url, {"reason": "x", "action": "approve"})
            assert response.status_code in (403, 404), f"{method.__name__} {url}: {response.status_code}"
    assert not AuditEntry.objects.exists()


def test_every_workspace_url_sends_a_visitor_to_sign_in(client):
    for url in workspace_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


def test_a_staff_user_outside_the_association_group_is_refused(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("association:home")).status_code == 403


def test_an_association_member_gets_in(client):
    client.force_login(association_member())
    response = client.get(reverse("association:home"))
    assert response.status_code == 200
    assert 'data-testid="association-tabs"' in response.content.decode()
