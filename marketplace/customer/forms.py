"""Oscar's customer forms, forked: the order history's search takes days the site can search (a day at the
calendar's edge is a form error, not an overflow when it becomes a time in Asia/Shanghai)."""

from typing import Any

from oscar.apps.customer import forms as oscar_forms
from oscar.apps.customer.forms import *  # noqa: F403  (Oscar's other customer forms, unchanged)

from marketplace.form_fields import day_within_reach


class OrderSearchForm(oscar_forms.OrderSearchForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("date_from", "date_to"):
            self.fields[name].validators.append(day_within_reach)
