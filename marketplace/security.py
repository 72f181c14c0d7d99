"""Throttling: sign-in lockout after repeated wrong passwords (django-axes) and rate limits on the forms
anyone can post (django-ratelimit), both answered with a page that says what happened and what to do; and
the page for a form Django's CSRF check refuses."""

from collections.abc import Callable
from typing import Any, TypeVar

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django_ratelimit.decorators import ratelimit
from oscar.core.loading import get_class
from oscar.views.decorators import login_forbidden

from marketplace.errors import answers_json

# Posts a visitor (by IP address) may make to forms that anyone can reach, before a 429.
APPLY_RATE = "5/h"  # /open-a-shop/ mails a "received" note to any address typed
REPORT_RATE = "20/h"  # a buyer's reports on listings
RESET_LINK_RATE = "5/h"  # each one mails a link to the address typed


class LockoutBackend(AxesStandaloneBackend):
    """axes' lockout check on every sign-in that comes with a request. Oscar's registration signs the new
    buyer in without one (its password was just chosen, there is nothing to guess): that sign-in is left to
    the next backend instead of failing."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """The account a sign-in is about, as axes counts it: people sign in with their e-mail, while axes,
    after a successful sign-in, names the user by ``get_username()`` (an internal name here). Both become
    the lower-cased e-mail, so a success clears the failures before it."""
    typed = str((credentials or {}).get("username") or request.POST.get("login-username", "")).strip()
    if "@" in typed:
        return typed.lower()
    user = get_user_model().objects.filter(username=typed).only("email").first()
    return (user.email if user is not None and user.email else typed).lower()


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """What django-ratelimit answers when a limit is reached (``RATELIMIT_VIEW``)."""
    return render(request, "security/rate_limited.html", status=429)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """What Django's CSRF check answers (``CSRF_FAILURE_VIEW``): a form posted from a page that had expired
    or without this site's cookies. A page in the visitor's language saying nothing was changed and what to
    do, instead of Django's technical one; JSON for the API and clients that ask for it."""
    if answers_json(request):
        detail = _("The request was refused: its CSRF token was missing or out of date. Nothing was changed.")
        return JsonResponse({"detail": detail}, status=403)
    return render(request, "security/csrf_failure.html", status=403)


_ViewClass = TypeVar("_ViewClass", bound=type[View])


def post_rate_limit(rate: str) -> Callable[[_ViewClass], _ViewClass]:
    """Limit a class-based view's POSTs per IP address to ``rate`` (blocked: ``rate_limited``)."""
    return method_decorator(ratelimit(key="ip", rate=rate, method="POST", block=True), name="post")


def password_reset_view() -> Callable[..., HttpResponseBase]:
    """Oscar's password reset page (as Oscar mounts it), with its posts rate limited per address."""
    view = auth_views.PasswordResetView.as_view(
        form_class=get_class("customer.forms", "PasswordResetForm"),
        success_url=reverse_lazy("password-reset-done"),
        template_name="oscar/registration/password_reset_form.html",
    )
    return login_forbidden(ratelimit(key="ip", rate=RESET_LINK_RATE, method="POST", block=True)(view))
