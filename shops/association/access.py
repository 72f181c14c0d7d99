"""Who may use the association's workspace at /association/: members of the association's group (the
``association.use_workspace`` permission; superusers have every permission). Anyone else signed in
gets 403, whatever the page; a visitor who is not signed in is sent to sign in."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render

from marketplace.roles import ASSOCIATION_GROUP, association_member, association_members
from marketplace.roles import ASSOCIATION_WORKSPACE_PERMISSION as WORKSPACE_PERMISSION

__all__ = [
    "WORKSPACE_PERMISSION",
    "AssociationAccessMixin",
    "association_group",
    "association_member",
    "association_members",
]


def association_group():
    """The association's staff group with its permission (made by a migration; made here too for a
    database built without migrations, as the tests' is)."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=ASSOCIATION_GROUP)
    if created:
        app_label, codename = WORKSPACE_PERMISSION.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


class AssociationAccessMixin(LoginRequiredMixin):
    """Every workspace view derives from this. ``section`` names the tab the page belongs to."""

    section = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not association_member(request.user):
            return render(request, "association/forbidden.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["association_section"] = self.section
        return context
