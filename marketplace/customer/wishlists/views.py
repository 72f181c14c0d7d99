"""Oscar's wish list views, forked: a wish list started from a product that does not exist goes to the plain
new wish list page (Oscar's redirect lacks the URL namespace: a 500)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from oscar.apps.customer.wishlists import views as oscar_views
from oscar.apps.customer.wishlists.views import *  # noqa: F403  (Oscar's other wish list views, unchanged)
from oscar.core.loading import get_model

Product = get_model("catalogue", "Product")


class WishListCreateView(oscar_views.WishListCreateView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if "product_pk" in kwargs:
            try:
                self.product = Product.objects.get(pk=kwargs["product_pk"])
            except ObjectDoesNotExist:
                messages.error(request, _("The requested product no longer exists"))
                return redirect("customer:wishlists-create")
        # Past Oscar's dispatch, which would look the product up again.
        return super(oscar_views.WishListCreateView, self).dispatch(request, *args, **kwargs)
