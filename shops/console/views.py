"""The console's pages. Thin: they read through ``shops.selectors``, write through the services
(``shops.listings``, ``shops.photos``, ``shops.fulfilment``, ``shops.imports``, the checkout's
cancellation) and say what happened with a message."""

import secrets
from decimal import Decimal
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from oscar.core.loading import get_model

from logistics.partner_selectors import user_partners
from marketplace.order.cancellation import shop_order_cancel
from marketplace.order.models import ShopOrder
from marketplace.order.shop_orders import ALLOWED_TRANSITIONS, ShopOrderTransitionError
from marketplace.payments.services import RefundError
from marketplace.roles import association_member
from marketplace.storefront.form_pages import PageFormAction
from shops import imports, photos
from shops.association.listing_review import listing_standards_check
from shops.console.access import SESSION_KEY, ShopConsoleMixin
from shops.console.once import SubmitOnce
from shops.forms import CancelForm, ListingForm, PackForm, PickingDayForm, QuickEditForm
from shops.fulfilment import shop_order_accept, shop_order_hand_over, shop_order_pack
from shops.harvest.services import parcel_traces_ensure
from shops.listings import (
    ListingError,
    listing_create,
    listing_pause,
    listing_price_stock_set,
    listing_resubmit,
    listing_resume,
    listing_update,
)
from shops.selectors import (
    ORDER_TABS,
    console_listing,
    console_listings,
    console_shop_order,
    console_shop_orders,
    console_tab_counts,
    farmer_shops,
    listing_counts,
    picking_list,
    shop_sales,
    stock_view,
)

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")

ORDER_TAB_LABELS = {
    "new": gettext_lazy("New"),
    "to_pack": gettext_lazy("To pack"),
    "handed_over": gettext_lazy("Handed over"),
    "in_transit": gettext_lazy("In transit"),
    "delivered": gettext_lazy("Delivered"),
    "problems": gettext_lazy("Problems"),
}


def landing(request: HttpRequest) -> HttpResponse:
    """Where signing in leads: farmers to their shop's console, the association's staff to its workspace,
    a logistics partner's people to their portal, everyone else (buyers) to their account."""
    if farmer_shops(request.user):
        return redirect("console:home")
    if association_member(request.user):
        return redirect("association:home")
    if user_partners(request.user):
        return redirect("logistics_portal:home")
    if request.user.is_authenticated:
        return redirect("customer:summary")
    return redirect("customer:login")


class HomeView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/home.html"
    section = "home"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        counts = console_tab_counts(shop=self.shop)
        context.update(
            sales=shop_sales(shop=self.shop),
            order_tiles=[
                (key, ORDER_TAB_LABELS[key], counts[key]) for key in ORDER_TABS if key != "delivered"
            ],
            listing_counts=listing_counts(shop=self.shop),
        )
        return context


class ShopSwitchView(ShopConsoleMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            shop_id = int(request.POST.get("shop", ""))
        except ValueError:
            raise Http404 from None
        shop = next((shop for shop in self.shops if shop.pk == shop_id), None)
        if shop is None:
            raise Http404
        request.session[SESSION_KEY] = shop.pk
        messages.success(request, _("Now working on %(shop)s.") % {"shop": shop.display_name})
        return redirect("console:home")


# --- listings -----------------------------------------------------------------------------------


class ListingObjectMixin(ShopConsoleMixin):
    """Looks the listing up within the farmer's shop: any other id is 404."""

    def objects_load(self) -> None:
        try:
            self._product = console_listing(shop=self.shop, product_id=self.kwargs["pk"])
        except Product.DoesNotExist:
            raise Http404 from None

    def get_product(self) -> "Product":
        return self._product


class ListingListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/listings.html"
    section = "listings"
    FILTERS = ("all", "low", "sold_out", "paused", "presale")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # A quick edit refused: its row shows what was typed and why (ListingQuickEditView).
        kwargs.setdefault("quick_form", None)
        kwargs.setdefault("quick_product_id", None)
        context = super().get_context_data(**kwargs)
        show = self.request.GET.get("show", "all")
        show = show if show in self.FILTERS else "all"
        today = timezone.localdate()
        rows = []
        for product in console_listings(shop=self.shop):
            stock = stock_view(product)
            presale = product.is_presale(today)
            keep = {
                "all": True,
                "low": stock.low,
                "sold_out": stock.sold_out,
                "paused": product.listing_status != Product.ListingStatus.LIVE,
                "presale": presale,
            }[show]
            if keep:
                images = list(product.images.all())
                rows.append(
                    {
                        "product": product,
                        "stock": stock,
                        "presale": presale,
                        "photo": images[0] if images else None,
                    }
                )
        context.update(rows=rows, show=show, counts=listing_counts(shop=self.shop))
        return context


class ListingFormMixin(ShopConsoleMixin):
    form_class = ListingForm
    template_name = "shops/console/listing_form.html"
    section = "listings"

    def form_invalid(self, form: ListingForm) -> HttpResponse:
        messages.error(self.request, _("Please correct the fields marked below."))
        return super().form_invalid(form)


class ListingCreateView(SubmitOnce, ListingFormMixin, FormView):
    def get_initial(self) -> dict[str, Any]:
        return {"storage": Product.Storage.AMBIENT, "stock": 10}

    def form_valid(self, form: ListingForm) -> HttpResponse:
        try:
            product = listing_create(shop=self.shop, data=form.listing_data(), actor=self.request.user)
        except ListingError as error:
            form.add_error("sku", str(error))
            return self.form_invalid(form)
        if product.listing_status == Product.ListingStatus.AWAITING_REVIEW:
            messages.info(
                self.request,
                _("“%(title)s” is saved and awaits the association's review; it goes on sale once approved.")
                % {"title": product.title},
            )
        else:
            messages.success(
                self.request, _("“%(title)s” is on sale. Now add photos.") % {"title": product.title}
            )
        return redirect("console:listing-photos", pk=product.pk)


class ListingEditView(ListingObjectMixin, ListingFormMixin, FormView):
    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        # A pre-sale already shipping may keep its (now past) ship-from date when other fields change.
        kwargs["allow_past_presale"] = self.get_product().presale_ship_from is not None
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        product = self.get_product()
        records = product.shop_stockrecords
        return ListingForm.initial_for(product, records[0] if records else None)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["product"] = self.get_product()
        # What the association's standards still ask of this listing, so the farmer fixes it first.
        context["review_problems"] = listing_standards_check(self.get_product())
        return context

    def form_valid(self, form: ListingForm) -> HttpResponse:
        product = listing_update(
            product=self.get_product(), data=form.listing_data(), actor=self.request.user
        )
        messages.success(self.request, _("“%(title)s” is saved.") % {"title": product.title})
        return redirect("console:listings")


class ListingPauseView(ListingObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            product = listing_pause(product=self.get_product(), actor=request.user)
        except ListingError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("“%(title)s” is paused: buyers no longer see it.") % {"title": product.title}
            )
        return redirect("console:listings")


class ListingResumeView(ListingObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            product = listing_resume(product=self.get_product(), actor=request.user)
        except ListingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("“%(title)s” is on sale again.") % {"title": product.title})
        return redirect("console:listings")


class ListingResubmitView(ListingObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            product = listing_resubmit(product=self.get_product(), actor=request.user)
        except ListingError as error:
            messages.error(request, str(error))
            return redirect("console:listing-edit", pk=pk)
        messages.success(
            request, _("“%(title)s” is sent to the association for review again.") % {"title": product.title}
        )
        return redirect("console:listings")


class ListingQuickEditView(PageFormAction, ListingObjectMixin, ListingListView):
    """A row's price and stock on the listings page; refused input is answered with the listings page, the
    typed values and the reason on that row."""

    form_name = "quick_form"

    def page_url(self) -> str:
        return reverse("console:listings")

    def form_context(self, form: forms.Form) -> dict[str, Any]:
        return {"quick_form": form, "quick_product_id": self.get_product().pk}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = self.get_product()
        form = QuickEditForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            listing_price_stock_set(
                product=product, price=form.cleaned_data["price"], stock=form.cleaned_data["stock"]
            )
        except ListingError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request,
            _("“%(title)s”: ¥%(price)s, %(stock)d left to sell.")
            % {
                "title": product.title,
                "price": form.cleaned_data["price"],
                "stock": form.cleaned_data["stock"],
            },
        )
        return HttpResponseRedirect(reverse("console:listings") + f"#listing-{product.pk}")


# --- photos -------------------------------------------------------------------------------------


def _photo_json(photo: "ProductImage") -> dict[str, Any]:
    thumb = photos.photo_rendition(photo, "list").url if photo.renditions_ready else None
    return {"id": photo.pk, "ready": photo.renditions_ready, "thumb": thumb, "main": photo.display_order == 0}


class PhotoListView(ListingObjectMixin, TemplateView):
    template_name = "shops/console/photos.html"
    section = "listings"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        product = self.get_product()
        context.update(
            product=product,
            photos=[{**_photo_json(p), "photo": p} for p in product.images.all()],
            max_bytes=settings.PHOTO_MAX_UPLOAD_BYTES,
            max_photos=settings.PHOTO_MAX_PER_PRODUCT,
        )
        return context


class PhotoUploadView(ListingObjectMixin, View):
    """Takes one or more files; answers JSON to the page's uploader (with progress) and redirects a
    plain form post. Each file is checked on its own: a bad one is named and the good ones are kept."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = self.get_product()
        uploads = request.FILES.getlist("photos")
        saved, already, refused, notes = [], [], [], []
        if not uploads:
            refused.append(_("Choose at least one photo."))
        for upload in uploads:
            try:
                saved.append(photos.product_photo_add(product=product, upload=upload, actor=request.user))
            except photos.PhotoAlreadyAdded as sent_before:  # sent twice: there once, as the farmer wanted
                already.append(sent_before.photo)
                notes.append(str(sent_before))
            except photos.PhotoRejected as error:
                refused.append(str(error))
        if request.headers.get("accept", "").startswith("application/json"):
            status = 200 if saved or already or not refused else 400
            return JsonResponse(
                # "added": how many are new, so the uploader says "uploaded" only when something was.
                {
                    "saved": [_photo_json(p) for p in saved + already],
                    "added": len(saved),
                    "errors": refused,
                    "notes": notes,
                },
                status=status,
            )
        if saved:
            messages.success(
                request,
                _("%(count)d photo(s) uploaded; thumbnails appear in a moment.") % {"count": len(saved)},
            )
        for message in notes:
            messages.info(request, message)
        for message in refused:
            messages.error(request, message)
        return redirect("console:listing-photos", pk=product.pk)


class PhotoStatusView(ListingObjectMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return JsonResponse({"photos": [_photo_json(photo) for photo in self.get_product().images.all()]})


class PhotoObjectMixin(ListingObjectMixin):
    def objects_load(self) -> None:
        super().objects_load()
        if not any(photo.pk == self.kwargs["photo_pk"] for photo in self.get_product().images.all()):
            raise Http404

    def photo_id(self) -> int:
        return self.kwargs["photo_pk"]


class PhotoMainView(PhotoObjectMixin, View):
    def post(self, request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
        photos.product_photo_make_main(product=self.get_product(), photo_id=self.photo_id())
        messages.success(request, _("Main photo chosen."))
        return redirect("console:listing-photos", pk=pk)


class PhotoDeleteView(PhotoObjectMixin, View):
    def post(self, request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
        photos.product_photo_delete(product=self.get_product(), photo_id=self.photo_id())
        messages.success(request, _("Photo deleted."))
        return redirect("console:listing-photos", pk=pk)


class PhotoReorderView(ListingObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = self.get_product()
        try:
            photo_ids = [int(value) for value in request.POST.getlist("photo")]
            photos.product_photos_reorder(product=product, photo_ids=photo_ids)
        except (ValueError, ProductImage.DoesNotExist):
            raise Http404 from None
        messages.success(request, _("Photo order saved."))
        return redirect("console:listing-photos", pk=pk)


# --- import -------------------------------------------------------------------------------------

IMPORT_SESSION_KEY = "console_import"


class ImportView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/import.html"
    section = "listings"

    def post(self, request: HttpRequest) -> HttpResponse:
        upload = request.FILES.get("file")
        context = self.get_context_data()
        if upload is None:
            messages.error(request, _("Choose a CSV or Excel file."))
            return self.render_to_response(context)
        try:
            rows = imports.import_rows_read(upload=upload)
        except imports.ImportFileError as error:
            messages.error(request, str(error))
            return self.render_to_response(context)
        preview = imports.import_rows_check(shop=self.shop, rows=rows)
        token = ""
        if preview.ok:
            token = secrets.token_urlsafe(12)
            request.session[IMPORT_SESSION_KEY] = {"token": token, "shop": self.shop.pk, "rows": rows}
            messages.info(
                request, _("%(count)d rows are ready. Check them, then import.") % {"count": preview.count}
            )
        else:
            request.session.pop(IMPORT_SESSION_KEY, None)
            messages.error(
                request,
                _("%(bad)d of %(count)d rows have errors; nothing was imported. Fix them and upload again.")
                % {"bad": len(preview.error_rows), "count": preview.count},
            )
        context.update(preview=preview, token=token, filename=upload.name)
        return self.render_to_response(context)


class ImportConfirmView(ShopConsoleMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        pending = request.session.get(IMPORT_SESSION_KEY)
        if (
            not pending
            or pending.get("token") != request.POST.get("token")
            or pending.get("shop") != self.shop.pk
        ):
            messages.error(request, _("That import has expired; upload the file again."))
            return redirect("console:import")
        try:
            products = imports.listings_import(shop=self.shop, rows=pending["rows"], actor=request.user)
        except imports.ImportRejected as rejected:
            request.session.pop(IMPORT_SESSION_KEY, None)
            first = rejected.preview.error_rows[0]
            column, message = first.errors[0]
            messages.error(
                request,
                _("Nothing was imported: row %(row)d, %(column)s: %(message)s")
                % {"row": first.number, "column": column, "message": message},
            )
            return redirect("console:import")
        request.session.pop(IMPORT_SESSION_KEY, None)
        messages.success(request, _("%(count)d listings imported.") % {"count": len(products)})
        return redirect("console:listings")


class ImportTemplateView(ShopConsoleMixin, View):
    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        if kind == "xlsx":
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            body = imports.listings_import_template()
        elif kind == "csv":
            content_type, body = "text/csv; charset=utf-8", imports.listings_import_template_csv()
        else:
            raise Http404
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="listings-template.{kind}"'
        return response


# --- orders -------------------------------------------------------------------------------------


class OrderListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/orders.html"
    section = "orders"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        tab = self.request.GET.get("tab", "new")
        tab = tab if tab in ORDER_TABS else "new"
        counts = console_tab_counts(shop=self.shop)
        context.update(
            tab=tab,
            tabs=[(key, ORDER_TAB_LABELS[key], counts[key]) for key in ORDER_TABS],
            shop_orders=list(console_shop_orders(shop=self.shop, tab=tab)),
        )
        return context


class OrderObjectMixin(ShopConsoleMixin):
    def objects_load(self) -> None:
        try:
            self._shop_order = console_shop_order(shop=self.shop, number=self.kwargs["number"])
        except ShopOrder.DoesNotExist:
            raise Http404 from None

    def get_shop_order(self) -> ShopOrder:
        return self._shop_order


class OrderDetailView(OrderObjectMixin, TemplateView):
    template_name = "shops/console/order_detail.html"
    section = "orders"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("pack_form", PackForm())
        kwargs.setdefault("cancel_form", CancelForm())
        context = super().get_context_data(**kwargs)
        shop_order = self.get_shop_order()
        context.update(shop_order=shop_order, can=_allowed_actions(shop_order))
        return context


def _allowed_actions(shop_order: ShopOrder) -> dict[str, bool]:
    allowed = ALLOWED_TRANSITIONS[shop_order.status]
    S = ShopOrder.Status
    return {
        "accept": S.ACCEPTED in allowed,
        "pack": S.PACKED in allowed,
        "hand_over": S.HANDED_OVER in allowed,
        "cancel": S.CANCELLED in allowed,
        "slip": shop_order.status not in (S.CANCELLED, S.REFUNDED),
    }


class OrderActionView(OrderObjectMixin, View):
    """POST-only moves of one shop order; refused moves say why and change nothing."""

    def done(self, message: str) -> HttpResponse:
        messages.success(self.request, message)
        return redirect("console:order", number=self.kwargs["number"])

    def refused(self, message: str) -> HttpResponse:
        messages.error(self.request, message)
        return redirect("console:order", number=self.kwargs["number"])


class OrderAcceptView(OrderActionView):
    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        shop_order = self.get_shop_order()
        try:
            shop_order_accept(shop_order_id=shop_order.pk, actor=request.user)
        except ShopOrderTransitionError as error:
            return self.refused(str(error))
        return self.done(_("Order %(number)s accepted. Pack it next.") % {"number": number})


class OrderFormAction(PageFormAction, OrderActionView, OrderDetailView):
    """A move the farmer types something for: refused input is answered with the order's page."""

    page_name = "console:order"


class OrderPackView(OrderFormAction):
    form_name = "pack_form"

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        shop_order = self.get_shop_order()
        form = PackForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        grams = int((form.cleaned_data["parcel_weight_kg"] * Decimal(1000)).to_integral_value())
        try:
            shop_order_pack(
                shop_order_id=shop_order.pk,
                parcel_count=form.cleaned_data["parcel_count"],
                parcel_weight_g=grams,
                actor=request.user,
            )
        except ShopOrderTransitionError as error:
            return self.form_refused_page(form, str(error))
        return self.done(
            _("Order %(number)s packed: %(count)d parcel(s). Print the packing slip and hand it over.")
            % {"number": number, "count": form.cleaned_data["parcel_count"]}
        )


class OrderHandOverView(OrderActionView):
    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        shop_order = self.get_shop_order()
        try:
            shop_order_hand_over(shop_order_id=shop_order.pk, actor=request.user)
        except ShopOrderTransitionError as error:
            return self.refused(str(error))
        return self.done(_("Order %(number)s handed over to logistics.") % {"number": number})


class OrderCancelView(OrderFormAction):
    form_name = "cancel_form"

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        shop_order = self.get_shop_order()
        form = CancelForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            shop_order = shop_order_cancel(
                shop_order_id=shop_order.pk, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ShopOrderTransitionError as error:
            return self.form_refused_page(form, str(error))
        except RefundError as error:  # cancelled: nothing left to type again
            return self.refused(_("Cancelled, but the refund failed: %(error)s") % {"error": error})
        if shop_order.status == ShopOrder.Status.REFUNDED:
            return self.done(
                _("Order %(number)s cancelled; ¥%(amount)s refunded to the buyer.")
                % {"number": number, "amount": shop_order.total}
            )
        return self.done(_("Order %(number)s cancelled.") % {"number": number})


class PackingSlipView(OrderObjectMixin, TemplateView):
    template_name = "shops/console/packing_slip.html"
    section = "orders"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        shop_order = self.get_shop_order()
        if shop_order.status in (ShopOrder.Status.CANCELLED, ShopOrder.Status.REFUNDED):
            raise Http404
        # The QR opens the parcel's public trace page (its code was made when the order was paid; an order
        # paid before trace codes existed gets one now).
        code = parcel_traces_ensure(shop_order_ids=[shop_order.pk])[shop_order.pk]
        trace_url = self.request.build_absolute_uri(reverse("harvest:trace", kwargs={"code": code}))
        qr = segno.make(trace_url, error="m")
        context.update(
            shop_order=shop_order,
            trace_url=trace_url,
            qr_svg=qr.svg_inline(scale=3, dark="#000", border=2),
        )
        return context


class PickingListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/picking.html"
    section = "orders"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = PickingDayForm(self.request.GET or None)
        day = form.day_or_today()
        rows = picking_list(shop=self.shop, day=day)
        context.update(form=form, day=day, rows=rows, total=sum(row.quantity for row in rows))
        return context


class SalesView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/sales.html"
    section = "sales"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sales"] = shop_sales(shop=self.shop)
        return context
