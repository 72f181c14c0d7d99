"""Who may use the console and which shop a page is about.

Every console view derives from ``ShopConsoleMixin``: the signed-in user must farm for at least one
shop; the shop a page works on is the one chosen in the session (a farmer of two shops switches), never
one named in the URL. Views then look objects up *within* ``self.shop``, so another shop's id answers 404.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render

from shops.selectors import farmer_shops

SESSION_KEY = "console_shop_id"


class ShopConsoleMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.shops = farmer_shops(request.user)
        if not self.shops:
            return render(request, "shops/console/no_shop.html", status=403)
        chosen = request.session.get(SESSION_KEY)
        self.shop = next((shop for shop in self.shops if shop.pk == chosen), self.shops[0])
        self.objects_load()  # before the method is looked at: another shop's id is 404 for GET and POST alike
        return super().dispatch(request, *args, **kwargs)

    def objects_load(self) -> None:
        """Look up the objects named in the URL within ``self.shop``; raise Http404 if they are not its."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(shop=self.shop, shops=self.shops, console_section=getattr(self, "section", ""))
        return context
