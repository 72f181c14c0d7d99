"""Who may use the association's workspace at /association/: members of the association's group (the
``association.use_workspace`` permission; superusers have every permission). Anyone else signed in
gets 403, whatever the page; a visitor who is not signed in is sent to sign in."""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.roles import ASSOCIATION_GROUP, association_member, association_members
from marketplace.roles import ASSOCIATION_WORKSPACE_PERMISSION as WORKSPACE_PERMISSION
from marketplace.storefront.workspace import ForbiddenPage, workspace_forbidden, workspace_nav

__all__ = [
    "WORKSPACE_PERMISSION",
    "AssociationAccessMixin",
    "association_group",
    "association_member",
    "association_members",
]

# The workspace's tabs: (URL name, label, section). A tab shows once its part of the workspace is installed
# (workspace_nav leaves out a URL name that does not resolve).
NAV = [
    ("association:home", gettext_lazy("Overview"), "home"),
    ("association:applications", gettext_lazy("Applications"), "applications"),
    ("association:shops", gettext_lazy("Shops"), "shops"),
    ("association:listings", gettext_lazy("Listing review"), "listings"),
    ("association:reviews", gettext_lazy("Buyers' reviews"), "reviews"),
    ("association:sales", gettext_lazy("Sales review"), "sales"),
    ("association:logistics", gettext_lazy("Logistics"), "logistics"),
    ("association:statements", gettext_lazy("Settlement"), "settlement"),
    ("association:audit", gettext_lazy("Decision log"), "audit"),
]


def association_group() -> "Group":
    """The association's staff group with its permission (made by a migration; made here too for a
    database built without migrations, as the tests' is)."""
    group, created = Group.objects.get_or_create(name=ASSOCIATION_GROUP)
    if created:
        app_label, codename = WORKSPACE_PERMISSION.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


class AssociationAccessMixin(LoginRequiredMixin):
    """Every workspace view derives from this. ``section`` names the tab the page belongs to."""

    section = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not association_member(request.user):
            return workspace_forbidden(
                request,
                ForbiddenPage(
                    workspace=_("Shop association"),
                    title=_("Association staff only"),
                    heading=_("Association staff only"),
                    paragraphs=[
                        _(
                            "This workspace is for the shop association's staff. Your account is not one "
                            "of them."
                        )
                    ],
                    testid="association-forbidden",
                ),
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]  # a mixin for Django's views
        context.update(
            association_section=self.section, workspace_nav=workspace_nav(NAV), workspace_section=self.section
        )
        return context
