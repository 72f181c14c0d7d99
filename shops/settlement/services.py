"""Monthly settlement statements: generating them from the paid shop orders and succeeded refunds,
issuing them, paying them (a Stripe Transfer to the shop's connected account, or a bank payment recorded
by hand), and the few corrections staff may make.

What counts (the association's definitions, shown on every statement):
- a sale is a shop order that was paid; its day is the Asia/Shanghai date of its move to "paid". Its goods
  and its shipping are sales; commission is charged on goods only (rate × each order line's goods).
- a refund is a succeeded refund, dated by its own Asia/Shanghai day. It gives commission back: at the
  rate used on the sale for the lines it names; a refund of an amount only is taken as goods first and
  gives back the commission in proportion (commission × goods refunded so far ÷ goods, less what was
  given back already).
- a statement for month M takes every sale and refund dated up to the end of M that no statement has
  taken yet (so something that arrives late lands in the next statement), plus the negative balance of
  any earlier issued statement. Each sale and refund lands in one statement ever (unique constraints).
- payable = sales − refunds − commission + commission given back − shipping subsidy + corrections.
"""

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import stripe
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from marketplace.ledger.models import SaleEntry
from marketplace.local_dates import local_midnight, month_after, month_first, month_last
from marketplace.locks import for_update
from marketplace.order.models import ShopOrder
from marketplace.payments.models import Refund, RefundLine
from marketplace.payments.services import stripe_client, to_minor
from shops.association.audit import acting_user, audit_record
from shops.settlement.models import Payout, ShopPayoutAccount, Statement, StatementLine
from shops.settlement.rules import CommissionBook, commission_of, money

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import ProductCategory
    from oscar.apps.order.models import Line
    from oscar.apps.partner.models import Partner
    from stripe.params import TransferCreateParams
else:
    Line = get_model("order", "Line")
    ProductCategory = get_model("catalogue", "ProductCategory")
    Partner = get_model("partner", "Partner")

K = StatementLine.Kind
ZERO = Decimal("0")
# Stripe keeps at most 500 characters in one metadata value.
METADATA_LIMIT = 500
# A claim on a statement's Stripe payout older than this was left by a process that died before it
# recorded Stripe's answer; the next payer takes it over. Longer than one call to Stripe can last with
# the client's timeout and retries (payments.services.stripe_client).
PAYOUT_CLAIM_STALE = datetime.timedelta(minutes=5)


class StatementError(ValueError):
    pass


class PayoutUnderWay(StatementError):
    """Another payer holds the claim on this statement's payout and is waiting for Stripe's answer."""

    @classmethod
    def of(cls, statement: Statement) -> "PayoutUnderWay":
        return cls(
            _(
                "A payment of statement %(number)s is under way: reload the page in a moment to see how "
                "it ended."
            )
            % {"number": statement.number}
        )


def statement_number(*, shop: "Partner", period: datetime.date) -> str:
    return f"ST-{period:%Y%m}-{shop.code}"


def shipping_subsidy_percent() -> Decimal | None:
    """The share of each sale's shipping charge the association has paid the carrier for the shop (its
    carrier contract), deducted from the statement; None (the default) when it pays none."""
    value = getattr(settings, "SETTLEMENT_SHIPPING_SUBSIDY", None)
    return None if value in (None, "") else Decimal(str(value))


def _refuse_final(statement: Statement) -> None:
    if statement.is_final:
        raise StatementError(
            _("Statement %(number)s is %(status)s: it cannot change. Corrections go into the next one.")
            % {"number": statement.number, "status": statement.get_status_display()}
        )


class _Ledger:
    """The commission charged and given back so far, per shop order and per order line (from earlier
    statements and from the lines being built), so a refund gives back at the sale's rate and never
    more than was charged."""

    def __init__(self, shop_order_ids: set[int]) -> None:
        self.charged_line: dict[int, tuple[Decimal, Decimal | None]] = {}
        self.charged: dict[int, Decimal] = defaultdict(Decimal)
        self.given_back: dict[int, Decimal] = defaultdict(Decimal)
        self.given_back_line: dict[int, Decimal] = defaultdict(Decimal)
        for line in StatementLine.objects.filter(
            shop_order_id__in=shop_order_ids, kind__in=[K.COMMISSION, K.COMMISSION_REVERSAL]
        ).only("shop_order_id", "order_line_id", "kind", "amount", "rate"):
            self.add(line)

    def add(self, line: StatementLine) -> None:
        if line.kind == K.COMMISSION:
            self.charged[line.shop_order_id] += -line.amount  # type: ignore[index]  # commission lines have one
            if line.order_line_id:
                self.charged_line[line.order_line_id] = (-line.amount, line.rate)
        elif line.kind == K.COMMISSION_REVERSAL:
            self.given_back[line.shop_order_id] += line.amount  # type: ignore[index]  # reversals have one
            if line.order_line_id:
                self.given_back_line[line.order_line_id] += line.amount


def _sale_lines(
    shop_order: ShopOrder,
    *,
    day: datetime.date,
    order_lines: list["Line"],
    paths: dict[int, list[str]],
    book: CommissionBook,
    subsidy: Decimal | None,
) -> list[StatementLine]:
    lines = [
        StatementLine(
            kind=K.SALE, shop_order=shop_order, day=day, amount=shop_order.lines_total, description=""
        )
    ]
    if shop_order.shipping_charge:
        lines.append(
            StatementLine(
                kind=K.SHIPPING,
                shop_order=shop_order,
                day=day,
                amount=shop_order.shipping_charge,
                description="",
            )
        )
    for line in order_lines:
        rate = book.rate(shop_id=shop_order.shop_id, category_paths=paths.get(line.product_id, []), day=day)
        amount = commission_of(line.line_price_incl_tax, rate.percent)
        lines.append(
            StatementLine(
                kind=K.COMMISSION,
                shop_order=shop_order,
                order_line=line,
                day=day,
                description=f"{line.title} × {line.quantity}"[:255],
                base=line.line_price_incl_tax,
                rate=rate.percent,
                rule=rate.rule,
                amount=-amount,
            )
        )
    if subsidy and shop_order.shipping_charge:
        lines.append(
            StatementLine(
                kind=K.SHIPPING_SUBSIDY,
                shop_order=shop_order,
                day=day,
                description="",
                base=shop_order.shipping_charge,
                rate=subsidy,
                amount=-commission_of(shop_order.shipping_charge, subsidy),
            )
        )
    return lines


def _refund_lines(
    refund: Refund, refunded_before: Decimal, ledger: _Ledger, itemised: list[RefundLine] | None
) -> list[StatementLine]:
    shop_order = refund.shop_order
    day = timezone.localdate(refund.created_at)
    lines = [
        StatementLine(
            kind=K.REFUND,
            shop_order=shop_order,
            refund=refund,
            day=day,
            description=refund.reason.splitlines()[0][:255] if refund.reason else "",
            amount=-refund.amount,
        )
    ]
    reversals: list[StatementLine] = []
    if itemised:
        for refund_line in itemised:
            charged, rate = ledger.charged_line.get(refund_line.line_id, (ZERO, None))
            if not charged or rate is None:
                continue
            left = charged - ledger.given_back_line[refund_line.line_id]
            amount = min(left, commission_of(refund_line.amount, rate))
            if amount > 0:
                reversals.append(
                    StatementLine(
                        kind=K.COMMISSION_REVERSAL,
                        shop_order=shop_order,
                        refund=refund,
                        order_line_id=refund_line.line_id,
                        day=day,
                        description=f"{refund_line.line.title} × {refund_line.quantity}"[:255],
                        base=refund_line.amount,
                        rate=rate,
                        amount=amount,
                    )
                )
    else:
        charged = ledger.charged[shop_order.pk]
        goods = shop_order.lines_total
        if charged and goods:
            goods_refunded = min(refunded_before + refund.amount, goods)
            amount = min(money(charged * goods_refunded / goods), charged) - ledger.given_back[shop_order.pk]
            if amount > 0:
                reversals.append(
                    StatementLine(
                        kind=K.COMMISSION_REVERSAL,
                        shop_order=shop_order,
                        refund=refund,
                        day=day,
                        description="",
                        base=refund.amount,
                        amount=amount,
                    )
                )
    for line in reversals:
        ledger.add(line)
    return lines + reversals


def statement_totals_refresh(statement: Statement, *, also_save: tuple[str, ...] = ()) -> Statement:
    """Sum the statement's lines into its totals and save them (with the ``also_save`` fields)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for kind, amount in statement.lines.values_list("kind", "amount"):
        sums[kind] += amount
    statement.sales = sums[K.SALE] + sums[K.SHIPPING]
    statement.refunds = -sums[K.REFUND]
    statement.commission = -sums[K.COMMISSION]
    statement.commission_reversal = sums[K.COMMISSION_REVERSAL]
    statement.shipping_subsidy = -sums[K.SHIPPING_SUBSIDY]
    statement.corrections = sums[K.CORRECTION]
    statement.payable = sum(sums.values(), ZERO)
    statement.save(update_fields=[*Statement.TOTAL_FIELDS, *also_save])
    return statement


@transaction.atomic
def statements_generate(  # noqa: PLR0912, PLR0915
    *, month: datetime.date, shop_ids: list[int] | None = None, today: datetime.date | None = None
) -> list[Statement]:
    """Make (or rebuild) the draft statements of ``month`` for every shop with something to settle
    (or only ``shop_ids``). Issued and paid statements are left alone. Safe to run any number of times."""
    period = month_first(month)
    if period > month_first(today or timezone.localdate()):
        raise StatementError(_("A month that has not begun cannot be settled."))
    end = local_midnight(month_after(period))

    existing = {
        statement.shop_id: statement
        for statement in for_update(Statement.objects.all()).filter(
            period=period, **({"shop_id__in": shop_ids} if shop_ids is not None else {})
        )
    }
    final_shops = {shop_id for shop_id, statement in existing.items() if statement.is_final}
    drafts = [statement for statement in existing.values() if not statement.is_final]
    # Rebuild: the generated lines go, the corrections staff added by hand stay.
    StatementLine.objects.filter(statement__in=drafts).exclude(
        kind=K.CORRECTION, carried_from__isnull=True
    ).delete()

    def shops_q(field: str) -> Q:
        q = ~Q(**{f"{field}__in": final_shops})
        return q & Q(**{f"{field}__in": shop_ids}) if shop_ids is not None else q

    paid_days: dict[int, datetime.datetime] = {}
    # What to settle is what the sales ledger holds: each sale at the moment it was paid, each refund
    # that succeeded at the moment it was made.
    for shop_order_id, at in (
        SaleEntry.objects.filter(shops_q("shop_id"), kind=SaleEntry.Kind.SALE, at__lt=end)
        .exclude(shop_order__statement_lines__kind=K.SALE)
        .order_by("at", "pk")
        .values_list("shop_order_id", "at")
    ):
        paid_days.setdefault(shop_order_id, at)
    sold = ShopOrder.objects.filter(pk__in=paid_days).order_by("pk")
    order_lines: dict[tuple[int, int], list] = defaultdict(list)
    for line in Line.objects.filter(order_id__in={so.order_id for so in sold}).order_by("pk"):
        order_lines[(line.order_id, line.partner_id)].append(line)
    paths: dict[int, list[str]] = defaultdict(list)
    for product_id, path in ProductCategory.objects.filter(
        product_id__in={line.product_id for lines in order_lines.values() for line in lines}
    ).values_list("product_id", "category__path"):
        paths[product_id].append(path)

    refunds = list(
        Refund.objects.filter(shops_q("ledger_entry__shop_id"), ledger_entry__at__lt=end)
        .exclude(statement_lines__kind=K.REFUND)
        .select_related("shop_order")
        .order_by("created_at", "pk")
    )
    itemised: dict[int, list[RefundLine]] = defaultdict(list)
    for refund_line in RefundLine.objects.filter(refund__in=refunds).select_related("line").order_by("pk"):
        itemised[refund_line.refund_id].append(refund_line)
    # What was refunded of each shop order before each refund (refunds in order of time).
    refunded_before: dict[int, Decimal] = {}
    running: dict[int, Decimal] = defaultdict(Decimal)
    for refund_id, shop_order_id, amount in (
        Refund.objects.filter(
            ledger_entry__isnull=False, shop_order_id__in={refund.shop_order_id for refund in refunds}
        )
        .order_by("created_at", "pk")
        .values_list("pk", "shop_order_id", "amount")
    ):
        refunded_before[refund_id] = running[shop_order_id]
        running[shop_order_id] += amount

    book = CommissionBook()
    subsidy = shipping_subsidy_percent()
    ledger = _Ledger({refund.shop_order_id for refund in refunds})
    new_lines: dict[int, list[StatementLine]] = defaultdict(list)
    for shop_order in sold:
        day = timezone.localdate(paid_days[shop_order.pk])
        lines = _sale_lines(
            shop_order,
            day=day,
            order_lines=order_lines[(shop_order.order_id, shop_order.shop_id)],
            paths=paths,
            book=book,
            subsidy=subsidy,
        )
        for line in lines:
            ledger.add(line)
        new_lines[shop_order.shop_id].extend(lines)
    for refund in refunds:
        new_lines[refund.shop_order.shop_id].extend(
            _refund_lines(refund, refunded_before[refund.pk], ledger, itemised.get(refund.pk))
        )
    for earlier in Statement.objects.filter(
        shops_q("shop_id"),
        status=Statement.Status.ISSUED,
        payable__lt=0,
        period__lt=period,
        carried_into__isnull=True,
    ).order_by("period"):
        new_lines[earlier.shop_id].append(
            StatementLine(
                kind=K.CORRECTION,
                carried_from=earlier,
                day=period,
                description=earlier.number,
                amount=earlier.payable,
            )
        )

    shops = Partner.objects.in_bulk(set(new_lines) | {statement.shop_id for statement in drafts})
    now = timezone.now()
    statements = []
    for shop_id in sorted(shops):
        lines = new_lines.get(shop_id, [])
        statement = existing.get(shop_id)
        if statement is None:
            if not lines:
                continue
            statement = Statement.objects.create(
                shop=shops[shop_id],
                period=period,
                number=statement_number(shop=shops[shop_id], period=period),
                generated_at=now,
            )
        elif not lines and not statement.lines.exists():
            statement.delete()  # a draft with nothing left to settle
            continue
        statement.generated_at = now
        for line in lines:
            line.statement = statement
        StatementLine.objects.bulk_create(lines)
        statements.append(statement_totals_refresh(statement, also_save=("generated_at",)))
    return statements


@transaction.atomic
def statement_issue(
    *, statement_id: int, actor: AbstractBaseUser | None = None, today: datetime.date | None = None
) -> Statement:
    """Make a draft final, rebuilt one last time: the shop sees it, and it can be paid (or, if
    negative, carried into the next statement). Only once its month is over."""
    statement = for_update(Statement.objects.all()).get(pk=statement_id)
    _refuse_final(statement)
    if (today or timezone.localdate()) <= month_last(statement.period):
        raise StatementError(_("A statement can be issued once its month is over."))
    # Rebuilt for its shop and month only: the list holds this statement, or nothing if it was removed.
    rebuilt = statements_generate(month=statement.period, shop_ids=[statement.shop_id], today=today)
    if not rebuilt:
        raise StatementError(_("Nothing is left to settle on this statement: it was removed."))
    (statement,) = rebuilt
    statement.status = Statement.Status.ISSUED
    statement.issued_at = timezone.now()
    statement.issued_by = acting_user(actor)  # type: ignore[assignment]  # auth.User is the user model
    statement.save(update_fields=["status", "issued_at", "issued_by"])
    audit_record(
        actor=actor, action="statement.issue", subject=statement, details={"payable": str(statement.payable)}
    )
    return statement


@transaction.atomic
def statement_correction_add(
    *, statement_id: int, amount: Decimal, description: str, actor: AbstractBaseUser | None = None
) -> StatementLine:
    """A correction staff add by hand to a draft (+ owed to the shop, − owed by it), with its reason."""
    statement = for_update(Statement.objects.all()).get(pk=statement_id)
    _refuse_final(statement)
    description = description.strip()
    if not description:
        raise StatementError(_("Say what the correction is for."))
    if amount is None or amount == 0 or amount != money(amount):
        raise StatementError(_("A correction is an amount in yuan and fen, other than zero."))
    line = StatementLine.objects.create(
        statement=statement,
        kind=K.CORRECTION,
        day=timezone.localdate(),
        description=description[:255],
        amount=amount,
    )
    statement_totals_refresh(statement)
    audit_record(
        actor=actor,
        action="statement.correct",
        subject=statement,
        reason=description,
        details={"amount": str(amount)},
    )
    return line


def payout_transfer_params(statement: Statement, account: ShopPayoutAccount) -> "TransferCreateParams":
    orders = list(
        statement.lines.filter(kind=K.SALE)
        .order_by("shop_order__number")
        .values_list("shop_order__number", flat=True)
    )
    listed = ""
    for number in orders:
        candidate = f"{listed},{number}" if listed else number
        if len(candidate) > METADATA_LIMIT:
            break
        listed = candidate
    return {
        "amount": to_minor(statement.payable),
        "currency": "cny",
        "destination": account.stripe_account_id,
        "transfer_group": statement.number,
        "description": f"{statement.number} {statement.shop.display_name}"[:255],
        "metadata": {"statement": statement.number, "order_count": str(len(orders)), "orders": listed},
    }


def statement_pay(*, statement_id: int, actor: AbstractBaseUser | None = None, reference: str = "") -> Payout:
    """Pay an issued statement: by one Stripe Transfer when the shop has a connected account, else record
    the bank payment with its ``reference``. A paid statement answers with its payout and changes no more.

    Stripe is never called while the statement row is locked. A short transaction locks the statement,
    checks it and claims its payout (``payout_claim``); the Transfer is made with the idempotency key
    ``statement-<pk>-payout`` outside any transaction; a second short transaction records the ``Payout``
    and marks the statement paid. A second payer meanwhile is refused with ``PayoutUnderWay``; a claim left
    by a process that died (older than ``PAYOUT_CLAIM_STALE``) is taken over by the next payer, and the
    idempotency key gets it the Transfer already made, as it does for a retry after a timeout. A Stripe
    error releases the claim: the statement stays issued, nothing recorded. Call it outside a transaction
    (the claim must be committed before Stripe is called)."""
    claim = _payout_claim(statement_id=statement_id, actor=actor, reference=reference)
    if isinstance(claim, Payout):
        return claim
    try:
        transfer = stripe_client().v1.transfers.create(
            params=claim.params, options={"idempotency_key": f"statement-{statement_id}-payout"}
        )
    except stripe.StripeError as error:
        _payout_claim_release(claim)
        raise StatementError(
            _("Stripe did not make the transfer: %(error)s. The statement is still unpaid.")
            % {"error": error.user_message or error}
        ) from error
    except Exception:
        _payout_claim_release(claim)
        raise
    if transfer.amount != to_minor(claim.payable):
        _payout_claim_release(claim)
        raise StatementError(_("Stripe answered with a transfer of another amount: nothing was recorded."))
    with transaction.atomic():
        statement = for_update(Statement.objects.all()).select_related("shop").get(pk=statement_id)
        if statement.status == Statement.Status.PAID:
            # A payer who took over this claim as stale recorded the same Transfer first.
            return statement.payout
        return _payout_record(statement, method=Payout.Method.STRIPE, reference=transfer.id, actor=actor)


@dataclass(frozen=True)
class _TransferClaim:
    """A committed claim on a statement's Stripe payout, with the Transfer to make (fixed at claim time)."""

    statement_id: int
    token: uuid.UUID
    params: "TransferCreateParams"
    payable: Decimal


def _payout_claim(
    *, statement_id: int, actor: AbstractBaseUser | None, reference: str
) -> Payout | _TransferClaim:
    """The first short transaction of ``statement_pay``: the payout of a statement already paid; a bank
    payment recorded at once (no call out); or the claim on a Stripe payout, committed on return."""
    with transaction.atomic():
        statement = for_update(Statement.objects.all()).select_related("shop").get(pk=statement_id)
        if statement.status == Statement.Status.PAID:
            return statement.payout
        if statement.status != Statement.Status.ISSUED:
            raise StatementError(_("Issue the statement before paying it."))
        if statement.payable <= 0:
            raise StatementError(
                _("Nothing to pay: a negative balance is carried into the shop's next statement.")
            )
        now = timezone.now()
        if statement.payout_claimed_at is not None and statement.payout_claimed_at > now - PAYOUT_CLAIM_STALE:
            raise PayoutUnderWay.of(statement)
        account = ShopPayoutAccount.objects.filter(shop_id=statement.shop_id).first()
        if account is None:
            reference = reference.strip()
            if not reference:
                raise StatementError(_("Give the bank payment's reference: the shop has no Stripe account."))
            return _payout_record(statement, method=Payout.Method.MANUAL, reference=reference, actor=actor)
        token = uuid.uuid4()
        # Conditional on the claim read above, so that two payers cannot both claim even where
        # select_for_update locks nothing (SQLite).
        taken = Statement.objects.filter(
            pk=statement.pk, status=Statement.Status.ISSUED, payout_claim=statement.payout_claim
        ).update(payout_claim=token, payout_claimed_at=now)
        if not taken:
            raise PayoutUnderWay.of(statement)
        return _TransferClaim(
            statement_id=statement.pk,
            token=token,
            params=payout_transfer_params(statement, account),
            payable=statement.payable,
        )


def _payout_claim_release(claim: _TransferClaim) -> None:
    """Give the claim back after a failed call (one UPDATE, its own transaction); a claim another payer
    has taken over since is theirs and stays."""
    Statement.objects.filter(pk=claim.statement_id, payout_claim=claim.token).update(
        payout_claim=None, payout_claimed_at=None
    )


def _payout_record(
    statement: Statement, *, method: str, reference: str, actor: AbstractBaseUser | None
) -> Payout:
    """Record how the locked, issued ``statement`` was paid, mark it paid and audit it."""
    reference = reference[:255]
    payout = Payout.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        statement=statement,
        method=method,
        reference=reference,
        amount=statement.payable,
        paid_by=acting_user(actor),
        paid_at=timezone.now(),
    )
    statement.status = Statement.Status.PAID
    statement.payout_claim = None
    statement.payout_claimed_at = None
    statement.save(update_fields=["status", "payout_claim", "payout_claimed_at"])
    audit_record(
        actor=actor,
        action="statement.pay",
        subject=statement,
        details={"method": method, "reference": reference, "amount": str(statement.payable)},
    )
    return payout


def payout_account_set(
    *, shop: "Partner", stripe_account_id: str, actor: AbstractBaseUser | None = None
) -> ShopPayoutAccount | None:
    """Set (or, with an empty id, remove) the shop's Stripe connected account; Stripe must know it. Stripe
    is asked before the transaction that writes the account, never inside it."""
    stripe_account_id = stripe_account_id.strip()
    if not stripe_account_id:
        with transaction.atomic():
            current = for_update(ShopPayoutAccount.objects.all()).filter(shop=shop).first()
            if current is not None:
                current.delete()
                audit_record(actor=actor, action="payout_account.remove", subject=shop)
        return None
    if not stripe_account_id.startswith("acct_"):
        raise StatementError(_("A Stripe connected account id starts with “acct_”."))
    try:
        stripe_client().v1.accounts.retrieve(stripe_account_id)
    except stripe.StripeError as error:
        raise StatementError(
            _("Stripe does not know the account %(id)s: %(error)s")
            % {"id": stripe_account_id, "error": error.user_message or error}
        ) from error
    with transaction.atomic():
        account, _created = ShopPayoutAccount.objects.update_or_create(
            shop=shop,
            defaults={
                "stripe_account_id": stripe_account_id,
                "updated_by": acting_user(actor),
            },
        )
        audit_record(
            actor=actor,
            action="payout_account.set",
            subject=shop,
            details={"stripe_account_id": stripe_account_id},
        )
    return account
