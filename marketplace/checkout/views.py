"""The checkout page, the pay-again page (with a WeChat Pay QR code while one waits) and the confirmation."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import FormView, TemplateView
from oscar.core.loading import get_model

from marketplace.checkout.forms import CheckoutForm, PaymentForm
from marketplace.checkout.selectors import basket_shop_groups
from marketplace.checkout.services import (
    AlreadyPlaced,
    CheckoutError,
    DeliveryAddress,
    NotOnSale,
    address_book,
    address_book_latest,
    address_book_save,
    checkout_place,
)
from marketplace.csp import allow_stripe_js
from marketplace.order.stock_holds import order_stock_hold, order_stock_release
from marketplace.partner.stock import SoldOut
from marketplace.payments.models import Payment
from marketplace.payments.services import (
    WECHAT_PAY,
    PaymentInProgress,
    payment_attempt,
    payment_in_progress,
    wechat_pay_code,
)
from marketplace.places.selectors import region_children, region_match

if TYPE_CHECKING:
    from oscar.apps.order.models import Order
else:
    Order = get_model("order", "Order")
Region = get_model("places", "Region")
StockRecord = get_model("partner", "StockRecord")

ORDER_SESSION_KEY = "checkout_order_numbers"


def _remember(request: HttpRequest, order: Order) -> None:
    numbers = request.session.get(ORDER_SESSION_KEY, [])
    request.session[ORDER_SESSION_KEY] = [*numbers[-19:], str(order.number)]


def _buyer_order(request: HttpRequest, number: str) -> Order:
    """The order only its buyer may open: a signed-in owner, or the guest session that placed it."""
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise Http404
    if order.user_id and request.user.is_authenticated and order.user_id == request.user.pk:
        return order
    if number in request.session.get(ORDER_SESSION_KEY, []):
        return order
    raise Http404


def _paid(order: Order) -> bool:
    return Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).exists()


def pay_or_explain(request: HttpRequest, order: Order, payment_method: str) -> HttpResponse:
    """Charge the order; when the card is declined, say why and put the stock back on sale. WeChat Pay
    goes on at the order's pay page, which shows the QR code Stripe drew until the buyer has scanned it."""
    pay_url = reverse("checkout:pay", kwargs={"number": order.number})
    try:
        payment = payment_attempt(
            order=order, payment_method=payment_method, return_url=request.build_absolute_uri(pay_url)
        )
    except PaymentInProgress:
        # Another tab or click is paying this order right now: its page shows the progress, then the result.
        return redirect(pay_url)
    if payment.status == Payment.Status.SUCCEEDED:
        return redirect("checkout:thank-you", number=order.number)
    if payment.status == Payment.Status.FAILED:
        order_stock_release(order_id=order.pk)
    if payment_method == WECHAT_PAY and payment.status == Payment.Status.REQUIRES_ACTION:
        return redirect(pay_url)
    messages.error(request, payment.failure_text or _("The payment did not go through."))
    return redirect(pay_url)


class StripeContextMixin:
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)  # type: ignore[misc]  # a mixin for Django's views
        ctx["stripe_publishable_key"] = settings.STRIPE_PUBLISHABLE_KEY
        ctx["stripe_js_url"] = settings.STRIPE_JS_URL
        return ctx


@method_decorator(allow_stripe_js, name="dispatch")
class CheckoutView(StripeContextMixin, FormView):
    template_name = "checkout/checkout.html"
    form_class = CheckoutForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.basket.is_empty:  # type: ignore[attr-defined]  # Oscar's middleware
            messages.info(request, _("Your basket is empty."))
            return redirect("basket:summary")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "guest": not self.request.user.is_authenticated}

    def get_initial(self) -> dict[str, Any]:
        if not self.request.user.is_authenticated:
            return {}
        saved = address_book_latest(user=self.request.user)
        initial = {"email": self.request.user.email}
        if saved is not None:
            initial.update(vars(saved))
            initial["phone"] = initial["phone"].removeprefix("+86")
        return initial

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        groups = basket_shop_groups(self.request.basket)  # type: ignore[attr-defined]  # Oscar's middleware
        ctx["groups"] = groups
        ctx["provinces"] = Region.objects.filter(level=Region.Level.PROVINCE).values_list("name", flat=True)
        if self.request.user.is_authenticated:
            # The buyer's other saved addresses, one tap to fill the form (address.js).
            ctx["saved_addresses"] = [
                {**vars(saved), "phone": saved.phone.removeprefix("+86")}
                for saved in address_book(user=self.request.user)
            ]
        ctx["shipping_total"] = sum(g.shipping.charge for g in groups)
        ctx["order_total"] = sum(g.total for g in groups)
        return ctx

    def form_valid(self, form: forms.Form) -> HttpResponse:
        data = form.cleaned_data
        address = DeliveryAddress(
            recipient=data["recipient"],
            phone=data["phone"],
            province=data["province"],
            city=data["city"],
            county=data["county"],
            street=data["street"],
        )
        try:
            order = checkout_place(
                basket=self.request.basket,  # type: ignore[attr-defined]  # Oscar's middleware
                user=self.request.user,
                email=data["email"],
                address=address,
                request=self.request,
            )
        except SoldOut as sold_out:
            titles = StockRecord.objects.filter(pk__in=sold_out.stockrecord_ids).values_list(
                "product__title", flat=True
            )
            form.add_error(
                None,
                _("Sold out, nothing was charged: %(items)s. Change the quantity or remove it.")
                % {"items": "、".join(titles)},
            )
            return self.form_invalid(form)
        except NotOnSale as gone:
            form.add_error(
                None,
                _("No longer on sale, nothing was charged: %(items)s. Remove it from your basket to go on.")
                % {"items": "、".join(gone.titles)},
            )
            return self.form_invalid(form)
        except AlreadyPlaced as placed:
            # Another submission of this basket placed the order a moment ago: land on that order.
            _remember(self.request, placed.order)
            return redirect("checkout:pay", number=placed.order.number)
        except CheckoutError:
            return redirect("basket:summary")
        _remember(self.request, order)
        if self.request.user.is_authenticated:
            address_book_save(user=self.request.user, address=address)
        return self.pay(order, data["payment_method"])

    def pay(self, order: Order, payment_method: str) -> HttpResponse:
        return pay_or_explain(self.request, order, payment_method)


@method_decorator(allow_stripe_js, name="dispatch")
class PayView(StripeContextMixin, TemplateView):
    """An unpaid order: the WeChat Pay QR code while one waits for the buyer's scan; another card, or
    WeChat Pay when it is offered."""

    template_name = "checkout/pay.html"
    wechat_code = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.order = _buyer_order(request, kwargs["number"])
        if _paid(self.order):
            return redirect("checkout:thank-you", number=self.order.number)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.in_progress = payment_in_progress(order_id=self.order.pk)
        if self.in_progress:
            return super().get(request, *args, **kwargs)  # no Stripe call while another request pays
        self.wechat_code = wechat_pay_code(order=self.order)  # read back from Stripe: it may be paid now
        if self.wechat_code is None and _paid(self.order):
            return redirect("checkout:thank-you", number=self.order.number)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["order"] = self.order
        ctx["shop_orders"] = self.order.shop_orders.select_related("shop")
        ctx["form"] = PaymentForm()
        ctx["wechat_code"] = self.wechat_code
        ctx["in_progress"] = getattr(self, "in_progress", False)
        return ctx

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PaymentForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, str(errors[0]))
            return redirect("checkout:pay", number=self.order.number)
        method = form.cleaned_data["payment_method"]
        try:
            order_stock_hold(order_id=self.order.pk)
        except SoldOut:
            messages.error(request, _("Sorry, this produce sold out meanwhile; nothing was charged."))
            return redirect("checkout:pay", number=self.order.number)
        return pay_or_explain(request, self.order, method)


@require_GET
def pay_status(request: HttpRequest, number: str) -> JsonResponse:
    """What the pay page polls while its WeChat Pay QR code waits: paid yet, still waiting, and where to
    go next. Reads the attempt back from Stripe, so it works before (or without) the webhook."""
    order = _buyer_order(request, number)
    waiting = wechat_pay_code(order=order) is not None
    paid = _paid(order)
    next_url = reverse("checkout:thank-you" if paid else "checkout:pay", kwargs={"number": order.number})
    return JsonResponse({"paid": paid, "waiting": waiting, "next": next_url})


class ThankYouView(TemplateView):
    template_name = "checkout/thank_you.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        order = _buyer_order(self.request, kwargs["number"])
        ctx["order"] = order
        ctx["shop_orders"] = order.shop_orders.select_related("shop").prefetch_related("order__lines")
        ctx["paid"] = Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).exists()
        ctx["checkout_url"] = reverse("checkout:index")
        return ctx


@require_GET
def address_divisions(request: HttpRequest) -> JsonResponse:
    """The address form's suggestions: the cities of ``?province=``, or the counties of ``?province=`` and
    ``?city=`` (names as a buyer may type them), from the region tree. The same for everyone: cacheable."""
    provinces = region_children(parent=None, level=Region.Level.PROVINCE)
    province = region_match(typed=request.GET.get("province", ""), candidates=provinces)
    names: list[str] = []
    if province is not None:
        cities = region_children(parent=province, level=Region.Level.CITY)
        if "city" in request.GET:
            city = region_match(typed=request.GET["city"], candidates=cities)
            if city is not None:
                names = [r.name for r in region_children(parent=city, level=Region.Level.COUNTY)]
        else:
            names = [r.name for r in cities]
    response = JsonResponse({"names": names})
    response["Cache-Control"] = "public, max-age=86400"
    return response
