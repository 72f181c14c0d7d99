"""The site's answer to an error in a view: the partner API answers JSON, like every other answer of it;
everything else gets the 500 page (in the visitor's language, without touching the database)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"  # the partner API: its answers, errors included, are JSON


def answers_json(request: HttpRequest) -> bool:
    """Whether a refusal made before any view runs (a body too large, a CSRF failure) is answered in JSON:
    the partner API's requests, and clients that ask for JSON."""
    return request.path.startswith(API_PREFIX) or request.headers.get("accept", "").startswith(
        "application/json"
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": _("Something went wrong on our side; it was logged. Try again later.")}, status=500
        )
    return defaults.server_error(request)
