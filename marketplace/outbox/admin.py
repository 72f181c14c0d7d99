from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_replay


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["topic", "key", "handler", "created_at", "publish_count", "failures", "done_at"]
    list_filter = ["topic", "handler", ("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["key"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Run again now"))
    def replay(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = outbox_replay(message_ids=queryset.values_list("pk", flat=True))
        messages.success(request, _("%(n)s messages are due again.") % {"n": count})
