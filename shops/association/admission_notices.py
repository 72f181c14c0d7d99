"""Emails to shop applicants, one per move of their application (``notice_send_once`` keyed by the
event): received (with the private link), changes requested (the message and the link), rejected (the
reason), approved (a link to set a password, then the console)."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sites.models import Site
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from marketplace.outbox.notices import notice_send_once
from shops.association.models import ApplicationEvent, ShopApplication

Status = ShopApplication.Status

TEMPLATES: dict[str, str] = {
    Status.SUBMITTED: "application_received",
    Status.CHANGES_REQUESTED: "application_changes_requested",
    Status.REJECTED: "application_rejected",
    Status.APPROVED: "application_approved",
}


def absolute_url(path: str) -> str:
    """``path`` on the site's domain (django.contrib.sites), https where cookies are secure."""
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    return f"{scheme}://{Site.objects.get_current().domain}{path}"


def application_link(application: ShopApplication) -> str:
    return absolute_url(reverse("admission:status", kwargs={"token": application.token}))


def set_password_link(user: AbstractBaseUser) -> str:
    """Oscar's password-reset confirm page for ``user``, with Django's default token: the farmer sets a
    password there and signs in (the token is spent once the password changes)."""
    return absolute_url(
        reverse(
            "password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    )


def application_notice_send(*, event_id: int) -> bool:
    event = ApplicationEvent.objects.select_related("application__shop", "application__farmer").get(
        pk=event_id
    )
    application = event.application
    context = {
        "application": application,
        "event": event,
        "resubmitted": event.from_status == Status.CHANGES_REQUESTED,
        "link": application_link(application),
    }
    if event.to_status == Status.APPROVED:
        if application.farmer is None:
            return False
        context["set_password_link"] = set_password_link(application.farmer)
        context["console_link"] = absolute_url(reverse("console:home"))
        context["sign_in_link"] = absolute_url(reverse("customer:login"))
    return notice_send_once(
        kind="shop-application",
        key=str(event.pk),
        recipients=[application.email],
        template=TEMPLATES[event.to_status],
        context=context,
    )
