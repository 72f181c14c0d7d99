import oscar.apps.checkout.apps as apps
from django.urls import path


class CheckoutConfig(apps.CheckoutConfig):
    name = "marketplace.checkout"

    def get_urls(self):
        from marketplace.checkout import views

        urls = [
            path("", views.CheckoutView.as_view(), name="index"),
            path("orders/<str:number>/pay/", views.PayView.as_view(), name="pay"),
            path("orders/<str:number>/pay/status/", views.pay_status, name="pay-status"),
            path("address/divisions/", views.address_divisions, name="address-divisions"),
            path("orders/<str:number>/thank-you/", views.ThankYouView.as_view(), name="thank-you"),
        ]
        return self.post_process_urls(urls)
