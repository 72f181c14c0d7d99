"""The request a view sees once its access mixin or decorator has checked that someone is signed in
(django-stubs' documented way to type ``request.user`` as a user rather than ``User | AnonymousUser``)."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    user: User
