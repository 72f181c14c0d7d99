"""Input no view can take, refused before any view runs: a NUL character in the path, the query string or a
form (PostgreSQL can neither store nor compare text holding one), and an id in the URL beyond what a
database key holds (it names nothing, and SQLite cannot even compare it)."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext as _
from django.views import defaults

from marketplace.errors import API_PREFIX  # the partner API, which answers JSON and looks its own ids up
from marketplace.form_fields import ID_MAX

NUL = "\x00"


def _holds_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


def _beyond_any_key(name: str, value: object) -> bool:
    """An ``<int:…>`` argument, or digits in an argument named as an id (Oscar's ``(?P<product_pk>\\d+)``),
    larger than the largest database key."""
    if isinstance(value, str) and (name in ("pk", "id") or name.endswith(("_pk", "_id"))):
        value = int(value) if value.isascii() and value.isdigit() else None
    return isinstance(value, int) and value > ID_MAX


class HostileInputMiddleware:
    """A NUL anywhere in the path, the query string or a form's fields (names and values) is a 400; a URL
    id larger than the largest database key is a 404. It runs in ``process_view``, after
    ``RequestBodyLimitMiddleware`` has refused a body too large to read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        api = request.path.startswith(API_PREFIX)
        if NUL in request.path_info or _holds_nul(request.GET) or _holds_nul(request.POST):
            if api:
                return JsonResponse({"detail": _("The request holds a NUL character.")}, status=400)
            return defaults.bad_request(request, BadRequest("NUL character in the request"))
        if not api and any(_beyond_any_key(name, value) for name, value in view_kwargs.items()):
            raise Http404
        return None
