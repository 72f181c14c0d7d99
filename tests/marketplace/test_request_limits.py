"""Request bodies are capped per view: a body larger than its view takes is answered 413 before a byte
of it is read (so a 30 MB post costs the server nothing), in the visitor's language or as JSON for the
API; the upload views take what their photos need, and nothing else does."""

import io

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from oscar.core.loading import get_model

from marketplace.middleware import ClientAddressMiddleware
from shops.association.models import ShopApplication

Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of ``size`` bytes made on demand, counting what the server reads of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        left = self.size - self.read_so_far
        size = left if size is None or size < 0 else min(size, left)
        self.read_so_far += size
        return b"a" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(min(size, 1024) if size and size > 0 else 1024)


def post_body(client: Client, url: str, size: int, **headers):
    body = CountingBody(size)
    response = client.generic(
        "POST",
        url,
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": body},
        **headers,
    )
    return response, body


def test_a_30_mb_application_is_refused_before_it_is_read():
    response, body = post_body(Client(), reverse("admission:apply"), 30 * MB)

    assert response.status_code == 413
    assert body.read_so_far == 0
    assert response["Connection"] == "close"
    assert 'data-testid="too-large"' in response.content.decode()
    assert "25 MB" in response.content.decode()
    assert not ShopApplication.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/basket/",
        "/association/listings/",
        "/checkout/",
        "/payments/stripe/webhook/",
    ],
)
def test_every_other_view_takes_4_mb(url):
    response, body = post_body(Client(), url, 4 * MB + 1)

    assert response.status_code == 413
    assert body.read_so_far == 0


def test_the_api_answers_json():
    response, body = post_body(
        Client(), "/api/logistics/legs/1/events/", 5 * MB, HTTP_AUTHORIZATION="Token x"
    )

    assert response.status_code == 413
    assert response.json()["detail"]
    assert body.read_so_far == 0


def test_an_english_visitor_reads_it_in_english():
    client = Client()
    client.cookies["django_language"] = "en"

    response, _body = post_body(client, reverse("admission:apply"), 30 * MB)

    assert "larger than this page takes (25 MB at most)" in response.content.decode()


def test_an_upload_view_takes_its_own_limit():
    """5 MB is over the default but within the application's 25 MB: read (and found not to be a form)."""
    response, body = post_body(Client(), reverse("admission:apply"), 5 * MB)

    assert response.status_code != 413, response.content[:300]
    assert body.read_so_far > 0, response.status_code


def test_the_default_limit_comes_from_settings(settings):
    settings.REQUEST_BODY_MAX_BYTES = 1 * MB

    response, body = post_body(Client(), "/accounts/login/", 2 * MB)

    assert response.status_code == 413
    assert body.read_so_far == 0


# --- the visitor's address behind the site's proxies ------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ([], "10.0.0.2", "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the header is ignored
        (["10.0.0.0/24"], "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/24"], "10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # spoofed first hop ignored
        (["10.0.0.0/24"], "10.0.0.2", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two of our proxies
        (["10.0.0.0/24"], "198.51.100.1", "203.0.113.9", "198.51.100.1"),  # not our proxy: not believed
        (["10.0.0.0/24"], "10.0.0.2", "not-an-address", "10.0.0.2"),
    ],
)
def test_the_visitors_address_is_read_only_from_our_own_proxies(settings, proxies, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    seen = []
    middleware = ClientAddressMiddleware(lambda request: seen.append(request.META["REMOTE_ADDR"]))

    middleware(RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded))

    assert seen == [expected]
