import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from logistics.models import TrackingEvent


class LegRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you cannot carry it"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "reject-reason"}),
    )


class TrackingEventForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What happened"),
        choices=TrackingEvent.Kind.choices,
        widget=forms.Select(attrs={"data-testid": "event-kind"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "event-note"}),
        help_text=_("Needed for an exception: say what went wrong."),
    )
    # A new key each time the form is shown: pressing "record" twice records the event once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=128)

    def __init__(self, *args: Any, leg_kind: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if leg_kind:  # each choice as this leg's partner says it ("handed on" before the carrier's leg)
            kind_field = self.fields["kind"]
            assert isinstance(kind_field, forms.ChoiceField)  # noqa: S101  (declared above)
            kind_field.choices = [
                (kind, TrackingEvent.kind_label(kind, leg_kind)) for kind in TrackingEvent.Kind.values
            ]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == TrackingEvent.Kind.EXCEPTION and not cleaned.get("note", "").strip():
            self.add_error("note", _("Say what went wrong."))
        return cleaned
