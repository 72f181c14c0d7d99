"""Who may use the console and which shop a page is about.

Every console view derives from ``ShopConsoleMixin``: the signed-in user must farm for at least one
shop; the shop a page works on is the one chosen in the session (a farmer of two shops switches), never
one named in the URL. Views then look objects up *within* ``self.shop``, so another shop's id answers 404.
"""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.storefront.workspace import ForbiddenPage, workspace_forbidden, workspace_nav
from shops.selectors import farmer_shops

SESSION_KEY = "console_shop_id"
# The console's tabs: (URL name, label, section).
NAV = [
    ("console:home", gettext_lazy("Today"), "home"),
    ("console:listings", gettext_lazy("Listings"), "listings"),
    ("console:orders", gettext_lazy("Orders"), "orders"),
    ("console:sales", gettext_lazy("Sales"), "sales"),
    ("console:orchard-plots", gettext_lazy("Orchard"), "orchard"),
]


class ShopConsoleMixin(LoginRequiredMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.shops = farmer_shops(request.user)
        if not self.shops:
            return workspace_forbidden(
                request,
                ForbiddenPage(
                    workspace=_("My shop"),
                    title=_("No shop yet"),
                    heading=_("Your account belongs to no shop"),
                    paragraphs=[
                        _(
                            "You are signed in as %(email)s, but this account is not a farmer of any shop "
                            "on the market."
                        )
                        % {"email": request.user.email},
                        _(
                            "If your village shop is already on the market, ask the shop's owner or the shop "
                            "association to add this account to it. To open a new shop, contact the "
                            "association."
                        ),
                    ],
                    testid="no-shop",
                ),
            )
        chosen = request.session.get(SESSION_KEY)
        self.shop = next((shop for shop in self.shops if shop.pk == chosen), self.shops[0])
        self.objects_load()  # before the method is looked at: another shop's id is 404 for GET and POST alike
        return super().dispatch(request, *args, **kwargs)

    def objects_load(self) -> None:
        """Look up the objects named in the URL within ``self.shop``; raise Http404 if they are not its."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]  # a mixin for Django's views
        section = getattr(self, "section", "")
        context.update(
            shop=self.shop,
            shops=self.shops,
            console_section=section,
            workspace_nav=workspace_nav(NAV),
            workspace_section=section,
        )
        return context
