"""A workspace form that posts to an action URL of its own and is answered, when its input is refused, with
the page it lives on again: the bound form keeps what was typed and shows why, and nothing is written.

An action view derives from ``PageFormAction`` and from the view of that page (so the page's access checks
and object lookups run exactly as for the page, before the action). The page's ``get_context_data`` takes
the form from its keyword arguments (``kwargs.setdefault("correction_form", CorrectionForm())``) and its
template posts every form to an explicit ``action``: the page answered here is at the action's URL. A GET of
an action URL (the language switch or a reload on such a page) is sent to the page.

Redirect-with-message stays the answer for buttons that carry nothing typed."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import View
from django.views.generic.base import ContextMixin, TemplateResponseMixin

INVALID = 400  # the form's own checks refused the input
REFUSED = 409  # the service refused what the form asked, given the state of things


class PageFormAction(TemplateResponseMixin, ContextMixin, View):
    """Put before the page's view: ``class StatementCorrectView(PageFormAction, StatementDetailView)``.

    ``form_name`` is the form's name in the page's context, ``page_name`` the page's URL name (reversed with
    the action's own URL arguments unless ``page_url`` is overridden)."""

    form_name: str
    page_name: str

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        url = self.page_url()
        query = request.META.get("QUERY_STRING", "")
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    def page_url(self) -> str:
        return reverse(self.page_name, kwargs=self.kwargs)

    def form_context(self, form: forms.Form) -> dict[str, Any]:
        """What the page is given besides its own context: the bound form (a page with a form per row adds
        which row it belongs to)."""
        return {self.form_name: form}

    def form_invalid_page(self, form: forms.Form) -> HttpResponse:
        """The page again, the form's errors by its fields."""
        messages.error(self.request, _("Please correct the fields marked below."))
        return self.page_with(form, status=INVALID)

    def form_refused_page(
        self, form: forms.Form, message: str, *, field: str | None = None, status: int = REFUSED
    ) -> HttpResponse:
        """The page again with the service's refusal on the form, by ``field`` if it names one of the form's
        (and said above the page too, in case the form is no longer shown: what it acted on has moved on)."""
        form.add_error(field if field in form.fields else None, message)
        messages.error(self.request, message)
        return self.page_with(form, status=status)

    def page_load(self) -> None:
        """What the page's ``get`` loads before asking for its context (a list page: its ``object_list``)."""

    def page_with(self, form: forms.Form, *, status: int) -> HttpResponse:
        self.page_load()
        return self.render_to_response(self.get_context_data(**self.form_context(form)), status=status)
