"""The public trace page behind a parcel's QR code (``/t/<code>/``): no sign-in, no personal data."""

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.views.generic import TemplateView

from shops.harvest.models import ParcelTrace
from shops.harvest.trace import SEASON_DAYS, trace_for_code, trace_journey, trace_journey_state

TRACE_CODE = re.compile(r"[A-Za-z0-9_-]{8,32}")


class TraceView(TemplateView):
    template_name = "harvest/trace.html"
    # Kept whole for cookieless visitors (the page cache) and its body as a fragment for everyone, as the
    # storefront's pages are: the parcel's moves show within STOREFRONT_CACHE_SECONDS (5 minutes).
    anonymous_page_cache = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        code = kwargs["code"]
        trace_id = (
            ParcelTrace.objects.filter(code=code).values_list("pk", flat=True).first()
            if TRACE_CODE.fullmatch(code)
            else None
        )
        if trace_id is None:
            raise Http404
        self.code, self.trace_id = code, trace_id
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["code"] = self.code
        return super().get_context_data(
            # Read only when the page's fragment is not cached, and where it grew only when its kept parts
            # (marketplace/storefront/kept.py) are not either.
            trace=SimpleLazyObject(lambda: trace_for_code(self.code)),
            trace_id=self.trace_id,
            legs=SimpleLazyObject(lambda: trace_journey(self.code)),
            # Called by the kept journey's tag only (a callable in a template's context is called).
            journey_state=lambda: trace_journey_state(trace_id=self.trace_id),
            season_days=SEASON_DAYS,
            **kwargs,
        )
