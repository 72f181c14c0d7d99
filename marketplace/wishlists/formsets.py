"""Oscar's wish list formsets, forked: the form counts of a hand-made request are bounded. The lines
formset edits the wish list's own lines and no more (its template links each form to its line, so a form
for a line that does not exist was a 500); the shared e-mails formset builds at most MAX_SHARED_EMAILS
forms, where Django's default ceiling (absolute_max, 2,000 forms) let one small POST cost a second of
work."""

from django.forms.models import inlineformset_factory
from oscar.apps.wishlists import formsets as oscar_formsets
from oscar.apps.wishlists.formsets import *  # noqa: F403  (the models and forms Oscar's formsets use)

from marketplace.form_fields import ExistingRowsFormSetMixin

MAX_SHARED_EMAILS = 50


class LineFormset(ExistingRowsFormSetMixin, oscar_formsets.LineFormset):
    pass


WishListSharedEmailFormset = inlineformset_factory(
    oscar_formsets.WishList,
    oscar_formsets.WishListSharedEmail,
    fields=("email",),
    form=oscar_formsets.WishListSharedEmailForm,
    extra=3,
    can_delete=True,
    max_num=MAX_SHARED_EMAILS,
    absolute_max=MAX_SHARED_EMAILS,
)
