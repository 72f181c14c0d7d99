"""Oscar's customer views, forked: the order page reads its order once (a fixed number of queries for any
number of shops); an order line has no page of its own (Oscar ships no template for one),
so opening it shows its order, and a line the order does not have is a 404; staff signing in land where
everyone does (Oscar sends them to its dashboard, which this site does not mount)."""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from oscar.apps.customer import views as oscar_views
from oscar.apps.customer.views import *  # noqa: F403  (Oscar's other customer views, unchanged)
from oscar.core.loading import get_model

from marketplace.order.selectors import buyer_order

if TYPE_CHECKING:
    from django.forms import Form
    from oscar.apps.order.models import Line, Order
else:
    Order = get_model("order", "Order")


class AccountAuthView(oscar_views.AccountAuthView):
    def get_login_success_url(self, form: "Form") -> str:
        return form.cleaned_data["redirect_url"] or settings.LOGIN_REDIRECT_URL


class OrderDetailView(oscar_views.OrderDetailView):
    """Oscar's order page, its order read once with everything the page shows (``buyer_order``)."""

    def get_object(self, queryset: QuerySet[Any] | None = None) -> Order:
        return buyer_order(user=self.request.user, number=self.kwargs["order_number"])


class OrderLineView(oscar_views.OrderLineView):
    """Posts an action on a line of the buyer's order (``reorder``); anything else lands on the order."""

    def get_object(self, queryset: QuerySet[Any] | None = None) -> "Line":
        order = get_object_or_404(Order, user=self.request.user, number=self.kwargs["order_number"])
        return get_object_or_404(order.lines, id=self.kwargs["line_id"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.get_object()
        return redirect("customer:order", order_number=self.kwargs["order_number"])
