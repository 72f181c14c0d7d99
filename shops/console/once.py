"""Console forms that make something are acted on once per page, however often the page is sent.

A farmer on a slow phone connection presses "Save" twice, or sends again after a timeout, or has the form
open in two tabs: each sending used to make one more listing or harvest batch. Each such form now carries
a random token (``{% form_once %}``, from ``console_tags``); the view (``SubmitOnce``) records the token in
the same transaction as what the form makes (``FormSubmission``). A second sending of the same token finds
it — or, sent at the same moment, waits on the first's row and then fails to write it — and is sent on to
where the first went, with a note, making nothing. A form sent back with errors records nothing, so the
corrected page can be sent. A page without a token (an old page, a script) is acted on as before.
"""

import re
import secrets
from http import HTTPStatus
from typing import Any, cast

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from shops.models import FormSubmission

TOKEN_FIELD = "form_once"  # noqa: S105  # a field name, not a secret
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def form_token_new() -> str:
    return secrets.token_urlsafe(24)


class SubmitOnce:
    """For a console FormView (or View with ``post``) that makes something and redirects when it did; its
    page gets a fresh token as ``form_once``."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context[TOKEN_FIELD] = form_token_new()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.POST.get(TOKEN_FIELD, "")
        if not TOKEN.fullmatch(token):
            return super().post(request, *args, **kwargs)  # type: ignore[misc]  # a mixin for Django's views
        sent = FormSubmission.objects.filter(token=token).first()
        if sent is not None:
            return self._sent_already(request, sent)
        try:
            with transaction.atomic():
                submission = FormSubmission.objects.create(
                    token=token, user_id=cast(int, request.user.pk), path=request.path[:255]
                )
                response: HttpResponse = super().post(request, *args, **kwargs)  # type: ignore[misc]
                if response.status_code != HTTPStatus.FOUND:  # sent back (errors): no token kept
                    transaction.set_rollback(True)
                    return response
                submission.done_url = response["Location"][:500]
                submission.save(update_fields=["done_url"])
        except IntegrityError:  # sent at the same moment as another sending of this page, which won
            sent = FormSubmission.objects.filter(token=token).first()
            if sent is None:
                raise
            return self._sent_already(request, sent)
        return response

    def _sent_already(self, request: HttpRequest, sent: FormSubmission) -> HttpResponse:
        messages.info(request, _("This form was already sent and saved once; nothing was saved again."))
        return redirect(sent.done_url or request.path)
