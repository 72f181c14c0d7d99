"""The workspace's overview and its decision log."""

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.views.generic import ListView, TemplateView

from shops.association.access import AssociationAccessMixin
from shops.association.selectors import audit_actions, audit_entries, waiting_tiles


class HomeView(AssociationAccessMixin, TemplateView):
    template_name = "association/home.html"
    section = "home"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(waiting=waiting_tiles(), latest=audit_entries()[:10], **kwargs)


class AuditView(AssociationAccessMixin, ListView):
    template_name = "association/audit.html"
    section = "audit"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[Any]:
        return audit_entries(action=self.request.GET.get("action", "")[:64])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        action = self.request.GET.get("action", "")[:64]
        return super().get_context_data(
            actions=audit_actions(),
            chosen_action=action,
            filter_query=urlencode({"action": action}) if action else "",
            **kwargs,
        )
