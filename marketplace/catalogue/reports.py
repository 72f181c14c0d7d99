"""A buyer's report of a listing on sale (the product page's "report this listing"): the store takes the
report; the association's listing review works through the open ones
(``shops.association.listing_review``)."""

import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.catalogue.models import ListingReport, Product

REPORTS_PER_DAY = 5
REPORT_TEXT_MAX_CHARS = 2000


class ListingReportError(ValueError):
    """A report that cannot be taken; the message says why, for the buyer."""


def listing_report_create(
    *, product: Product, reporter: User | AnonymousUser, reason: str, text: str = ""
) -> ListingReport:
    """A signed-in buyer reports a listing on sale. One open report per buyer and listing, and at most
    ``REPORTS_PER_DAY`` reports a day per buyer; a shop's own farmers cannot report its listings."""
    if not reporter.is_authenticated:
        raise ListingReportError(_("Sign in to report a listing."))
    if reason not in ListingReport.Reason.values:
        raise ListingReportError(_("Choose what is wrong with the listing."))
    text = (text or "").strip()
    if len(text) > REPORT_TEXT_MAX_CHARS:
        raise ListingReportError(_("The description is too long (at most 2,000 characters)."))
    if reason == ListingReport.Reason.OTHER and not text:
        raise ListingReportError(_("Say what is wrong with the listing."))
    with transaction.atomic():
        product = Product.objects.select_related("shop").get(pk=product.pk)
        on_sale = product.listing_status == Product.ListingStatus.LIVE
        if not on_sale or product.shop is None or not product.shop.is_open:
            raise ListingReportError(_("Only a listing on sale can be reported."))
        if product.shop.users.filter(pk=reporter.pk).exists():
            raise ListingReportError(_("You cannot report your own shop's listing."))
        if ListingReport.objects.filter(
            product=product, reporter=reporter, status=ListingReport.Status.OPEN
        ).exists():
            raise ListingReportError(
                _("You have already reported this listing; the association is looking into it.")
            )
        since = timezone.now() - datetime.timedelta(days=1)
        if ListingReport.objects.filter(reporter=reporter, created_at__gte=since).count() >= REPORTS_PER_DAY:
            raise ListingReportError(_("You have sent many reports today; please try again tomorrow."))
        try:
            with transaction.atomic():
                return ListingReport.objects.create(
                    product=product, reporter=reporter, reason=reason, text=text
                )
        except IntegrityError:  # the same buyer's report committed a moment earlier
            raise ListingReportError(
                _("You have already reported this listing; the association is looking into it.")
            ) from None
