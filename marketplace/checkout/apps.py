from django.urls import URLPattern, URLResolver, path
from oscar.apps.checkout import apps


class CheckoutConfig(apps.CheckoutConfig):
    name = "marketplace.checkout"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        from marketplace.checkout import views

        urls = [
            path("", views.CheckoutView.as_view(), name="index"),
            path("orders/<str:number>/pay/", views.PayView.as_view(), name="pay"),
            path("orders/<str:number>/pay/status/", views.pay_status, name="pay-status"),
            path("address/divisions/", views.address_divisions, name="address-divisions"),
            path("orders/<str:number>/thank-you/", views.ThankYouView.as_view(), name="thank-you"),
        ]
        return self.post_process_urls(urls)
