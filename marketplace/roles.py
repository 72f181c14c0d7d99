"""Who holds which role on the marketplace, for the pages every role shares (the header's links, the
product page) and for the notices sent to the association. The association's staff are the members of
its group, which carries the ``association.use_workspace`` permission (superusers have every permission);
farmers are the users of a shop (Oscar's partner users), logistics staff the users of a partner."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

ASSOCIATION_GROUP = "Shop association"
ASSOCIATION_WORKSPACE_PERMISSION = "association.use_workspace"


def association_member(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(ASSOCIATION_WORKSPACE_PERMISSION))


def association_members() -> QuerySet:
    """The active users of the association's group: who is alerted when something needs its eyes."""
    return get_user_model().objects.filter(is_active=True, groups__name=ASSOCIATION_GROUP).distinct()
