"""Recording harvest batches and drawing order lines from them.

A paid order line draws its weight (quantity × the listing's net weight) from the shop's batches of that
listing, the earliest picked first. Lines that no batch can cover yet (a pre-sale, or stock listed before
its batches were recorded) stay pending and are drawn when a batch is recorded. Every draw runs under the
shop's open batches' row locks (``marketplace.locks``), so two payments and a farmer recording a batch at
once never draw the same grams twice. A paid shop order cancelled before it leaves gives its grams back.
"""

import datetime
import secrets
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.locks import for_update
from marketplace.order.models import ShopOrder, ShopOrderEvent
from shops.harvest.models import BatchPhoto, HarvestBatch, LineDraw, ParcelTrace
from shops.harvest.trace import traces_of_lines_stale
from shops.orchard.models import Plot

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Product
    from oscar.apps.order.models import Line
else:
    Line = get_model("order", "Line")
    Product = get_model("catalogue", "Product")
S = ShopOrder.Status

# Shop orders whose lines draw: paid, and never cancelled (a parcel is cancelled only before it leaves, then
# refunded; a refund after delivery keeps its draws: the produce left).
DRAWING_STATUSES = (S.PAID, S.ACCEPTED, S.PACKED, S.HANDED_OVER, S.IN_TRANSIT, S.DELIVERED, S.REFUNDED)
MAX_BATCH_KG = Decimal("100000")  # 100 t: more is a typing slip
MAX_BATCH_AGE_DAYS = 60
TRACE_CODE_BYTES = 12  # 16 URL-safe characters: 96 random bits


class BatchRejected(ValueError):
    """A batch that cannot be recorded as given; the message says why, in the farmer's language."""


@dataclass(frozen=True)
class NewBatch:
    """A batch as the farmer gives it (the console's form, the demo)."""

    products: tuple["Product", ...]
    plot: Plot | None
    picked_on: datetime.date
    quantity_kg: Decimal
    grade: str = ""
    brix: Decimal | None = None
    note: str = ""
    photos: tuple[bytes, ...] = ()  # JPEG bytes from shops.photos.photo_clean


def _check(*, shop_id: int, new: NewBatch) -> None:
    if not new.products:
        raise BatchRejected(_("Choose the listing(s) this harvest is for."))
    if any(p.shop_id != shop_id for p in new.products):
        raise BatchRejected(_("A batch can only be for your own shop's listings."))
    if new.plot is not None and new.plot.shop_id != shop_id:
        raise BatchRejected(_("A batch can only come from your own shop's plots."))
    unweighed = [p.title for p in new.products if not p.net_weight_g]
    if unweighed:
        raise BatchRejected(
            _("Set the net weight of these listings first (orders draw from a batch by weight): %(titles)s")
            % {"titles": "、".join(unweighed)}
        )
    today = timezone.localdate()
    if new.picked_on > today:
        raise BatchRejected(_("The picking date cannot be in the future."))
    if new.picked_on < today - datetime.timedelta(days=MAX_BATCH_AGE_DAYS):
        raise BatchRejected(
            _("The picking date is more than %(days)s days ago.") % {"days": MAX_BATCH_AGE_DAYS}
        )
    if not (Decimal("0") < new.quantity_kg <= MAX_BATCH_KG):
        raise BatchRejected(
            _("The quantity must be more than 0 and at most %(max)s kg.") % {"max": f"{MAX_BATCH_KG:,}"}
        )


@transaction.atomic
def harvest_batch_record(
    *, shop_id: int, new: NewBatch, user: AbstractBaseUser | None = None
) -> HarvestBatch:
    """Record a batch the shop picked (its listings and plot must be its own), with its photos; then draw
    the shop's pending order lines from it. ``BatchRejected`` says what is wrong."""
    _check(shop_id=shop_id, new=new)
    batch = HarvestBatch.objects.create(
        shop_id=shop_id,
        plot=new.plot,
        picked_on=new.picked_on,
        quantity_g=int(new.quantity_kg * 1000),
        grade=new.grade,
        brix=new.brix,
        note=new.note,
        recorded_by_id=user.pk if user is not None else None,
    )
    batch.products.set(new.products)
    for index, data in enumerate(new.photos, start=1):
        BatchPhoto.objects.create(batch=batch, image=ContentFile(data, name=f"batch-{batch.pk}-{index}.jpg"))
    batch_draws_settle(shop_id=shop_id)
    batch.refresh_from_db(fields=["drawn_g"])
    return batch


def _pending_lines(shop_id: int, product_ids: set[int]) -> list[tuple[int, int, int]]:
    """(line id, product id, grams still to draw) of the shop's paid lines of these listings, oldest
    order first."""
    drawing = ShopOrder.objects.filter(
        order_id=OuterRef("order_id"), shop_id=shop_id, status__in=DRAWING_STATUSES
    ).exclude(events__to_status=S.CANCELLED)
    rows = (
        Line.objects.filter(partner_id=shop_id, product_id__in=product_ids, product__net_weight_g__gt=0)
        .filter(Exists(drawing))
        .annotate(
            needed=F("quantity") * F("product__net_weight_g"),
            drawn=Coalesce(Sum("harvest_draws__grams"), 0),
        )
        .filter(drawn__lt=F("needed"))
        .order_by("order__date_placed", "pk")
        .values_list("pk", "product_id", "needed", "drawn")
    )
    return [(pk, product_id, needed - drawn) for pk, product_id, needed, drawn in rows]


def _release_cancelled(shop_id: int, batches: dict[int, HarvestBatch]) -> set[int]:
    """Give back the grams of lines whose shop order was cancelled after it was paid. Returns those lines."""
    cancelled = ShopOrderEvent.objects.filter(
        shop_order__order_id=OuterRef("line__order_id"), shop_order__shop_id=shop_id, to_status=S.CANCELLED
    )
    draws = list(LineDraw.objects.filter(batch__shop_id=shop_id).filter(Exists(cancelled)))
    for draw in draws:
        batch = batches[draw.batch_id]
        batch.drawn_g -= draw.grams
    LineDraw.objects.filter(pk__in=[d.pk for d in draws]).delete()
    return {draw.line_id for draw in draws}


@transaction.atomic
def batch_draws_settle(*, shop_id: int) -> int:
    """Draw the shop's pending paid lines from its batches, first picked first drawn, after giving back
    what cancelled parcels had drawn. Idempotent; safe to run concurrently (the shop's batches are locked).
    Returns the grams drawn."""
    batches = {b.pk: b for b in for_update(HarvestBatch.objects.filter(shop_id=shop_id))}
    if not batches:
        return 0
    before = {pk: b.drawn_g for pk, b in batches.items()}
    released = _release_cancelled(shop_id, batches)
    open_batches = sorted(
        (b for b in batches.values() if b.drawn_g < b.quantity_g), key=lambda b: (b.picked_on, b.pk)
    )
    listings: dict[int, set[int]] = defaultdict(set)
    for batch_id, product_id in HarvestBatch.products.through.objects.filter(
        harvestbatch_id__in=[b.pk for b in open_batches]
    ).values_list("harvestbatch_id", "product_id"):
        listings[batch_id].add(product_id)
    product_ids = set().union(*listings.values()) if listings else set()
    takes: dict[tuple[int, int], int] = defaultdict(int)
    drawn = 0
    for line_id, product_id, grams in _pending_lines(shop_id, product_ids) if product_ids else []:
        need = grams
        for batch in open_batches:
            if need == 0:
                break
            if product_id not in listings[batch.pk] or batch.drawn_g >= batch.quantity_g:
                continue
            take = min(need, batch.quantity_g - batch.drawn_g)
            batch.drawn_g += take
            takes[(line_id, batch.pk)] += take
            need -= take
            drawn += take
    existing = {
        (d.line_id, d.batch_id): d
        for d in LineDraw.objects.filter(
            line_id__in={line for line, _batch in takes}, batch_id__in={batch for _line, batch in takes}
        )
    }
    for key, grams in takes.items():
        if key in existing:
            LineDraw.objects.filter(pk=existing[key].pk).update(grams=F("grams") + grams)
    LineDraw.objects.bulk_create(
        [
            LineDraw(line_id=line, batch_id=batch, grams=grams)
            for (line, batch), grams in takes.items()
            if (line, batch) not in existing
        ]
    )
    changed = [b for pk, b in batches.items() if b.drawn_g != before[pk]]
    HarvestBatch.objects.bulk_update(changed, ["drawn_g"])
    # The traces of the lines drawn or given back show their batches: drawn again.
    traces_of_lines_stale(line_ids={line for line, _batch in takes} | released)
    return drawn


def parcel_traces_ensure(*, shop_order_ids: list[int]) -> dict[int, str]:
    """Each shop order's trace code (made when missing: random, unguessable). shop order id → code."""
    codes = dict(
        ParcelTrace.objects.filter(shop_order_id__in=shop_order_ids).values_list("shop_order_id", "code")
    )
    missing = [pk for pk in shop_order_ids if pk not in codes]
    if missing:
        ParcelTrace.objects.bulk_create(
            [ParcelTrace(shop_order_id=pk, code=secrets.token_urlsafe(TRACE_CODE_BYTES)) for pk in missing],
            ignore_conflicts=True,  # made meanwhile by another caller: theirs stands
        )
        codes = dict(
            ParcelTrace.objects.filter(shop_order_id__in=shop_order_ids).values_list("shop_order_id", "code")
        )
    return codes


def shops_with_batches(shop_ids: list[int]) -> list[int]:
    return sorted(set(HarvestBatch.objects.filter(shop_id__in=shop_ids).values_list("shop_id", flat=True)))
