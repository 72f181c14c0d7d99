"""Paying statements through Stripe Connect (localstripe, extended with accounts and transfers by
devtools/localstripe_server.py, spoken to with the real stripe SDK): one Transfer per statement however
often it is paid, Stripe's refusals leave it unpaid, Stripe is never called with the statement locked;
and the real checkout → cancel → statement flow."""

import datetime
import threading
import uuid
from decimal import Decimal

import pytest
import stripe
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from marketplace.order.cancellation import shop_order_cancel
from marketplace.payments.models import Payment
from marketplace.payments.services import shop_order_refund, stripe_client
from shops.association.models import AuditEntry
from shops.settlement.models import Payout, ShopPayoutAccount, Statement, StatementLine
from shops.settlement.rules import commission_rule_add
from shops.settlement.services import (
    PAYOUT_CLAIM_STALE,
    PayoutUnderWay,
    StatementError,
    payout_account_set,
    payout_transfer_params,
    statement_issue,
    statement_pay,
    statements_generate,
)
from tests.factories import association_member
from tests.postgres import postgresql_only
from tests.shops.console.conftest import paid_order, provinces, shop_a, shop_b  # noqa: F401  (shared fixtures)
from tests.shops.settlement.conftest import at, sale

MARCH = datetime.date(2026, 3, 1)
K = StatementLine.Kind


def connected_account() -> str:
    return stripe_client().v1.accounts.create(params={"type": "express", "country": "CN"}).id


def issued_march(shop) -> Statement:
    commission_rule_add(percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1))
    sale(shop, (shop.peach, 2), paid_at=at("2026-03-10 10:00"))  # 336.00 + 12.00 − 16.80 = 331.20
    (march,) = statements_generate(month=MARCH)
    return statement_issue(statement_id=march.pk)


@pytest.mark.django_db
def test_paying_twice_makes_one_transfer(fresh_stripe, shop):
    staff = association_member()
    payout_account_set(shop=shop, stripe_account_id=connected_account(), actor=staff)
    march = issued_march(shop)

    first = statement_pay(statement_id=march.pk, actor=staff)
    second = statement_pay(statement_id=march.pk, actor=staff)

    assert first == second
    assert first.method == Payout.Method.STRIPE
    transfers = stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data
    assert [t.id for t in transfers] == [first.reference]
    (transfer,) = transfers
    assert transfer.amount == 33120  # fen
    assert transfer.currency == "cny"
    assert transfer.destination == shop.payout_account.stripe_account_id
    assert transfer.metadata["statement"] == march.number
    assert transfer.metadata["orders"]  # the shop order numbers settled
    march.refresh_from_db()
    assert march.status == Statement.Status.PAID
    assert AuditEntry.objects.filter(action="statement.pay", subject_id=str(march.pk)).count() == 1


@pytest.mark.django_db
def test_a_retry_after_a_lost_answer_reuses_the_transfer(fresh_stripe, shop):
    """Stripe made the transfer but our side never recorded it (a timeout): paying again must not pay
    twice. The idempotency key per statement makes Stripe answer with the first transfer."""
    payout_account_set(shop=shop, stripe_account_id=connected_account())
    march = issued_march(shop)

    lost = stripe_client().v1.transfers.create(
        params=payout_transfer_params(march, shop.payout_account),
        options={"idempotency_key": f"statement-{march.pk}-payout"},
    )

    payout = statement_pay(statement_id=march.pk)

    assert payout.reference == lost.id
    assert len(stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data) == 1


@pytest.mark.django_db
def test_stripe_refusing_the_transfer_leaves_the_statement_unpaid(fresh_stripe, shop):
    march = issued_march(shop)
    ShopPayoutAccount.objects.create(shop=shop, stripe_account_id="acct_doesnotexist")

    with pytest.raises(StatementError):
        statement_pay(statement_id=march.pk)

    march.refresh_from_db()
    assert march.status == Statement.Status.ISSUED
    assert march.payout_claim is None  # given back: the next attempt is not told a payment is under way
    assert not Payout.objects.exists()
    assert not AuditEntry.objects.filter(action="statement.pay").exists()
    with pytest.raises(StatementError) as again:
        statement_pay(statement_id=march.pk)
    assert not isinstance(again.value, PayoutUnderWay)


@pytest.mark.django_db(transaction=True)
def test_stripe_makes_the_transfer_with_the_claim_committed_and_the_statement_unlocked(
    fresh_stripe, shop, monkeypatch
):
    """While Stripe makes the transfer (the SDK's call observed, not replaced), the payer is in no
    transaction, another connection locks the statement row at once (NOWAIT, on PostgreSQL) and sees the
    claim, and a second member of staff paying is told the payment is under way."""
    payout_account_set(shop=shop, stripe_account_id=connected_account())
    march = issued_march(shop)
    seen: dict[str, object] = {}
    create = stripe.TransferService.create

    def other_staff() -> None:  # on its own database connection
        try:
            with transaction.atomic():
                locked = Statement.objects.select_for_update(nowait=True).get(pk=march.pk)
                seen["claim seen elsewhere"] = locked.payout_claim is not None
        except DatabaseError as error:
            seen["claim seen elsewhere"] = error
        try:
            seen["second payer"] = statement_pay(statement_id=march.pk)
        except StatementError as error:
            seen["second payer"] = error
        finally:
            connection.close()

    payer = threading.current_thread()

    def create_observed(self, *args, **kwargs):
        if threading.current_thread() is not payer:  # the other staff's call, if it gets this far
            return create(self, *args, **kwargs)
        seen["payer in a transaction"] = connection.in_atomic_block
        thread = threading.Thread(target=other_staff)
        thread.start()
        thread.join(timeout=20)
        return create(self, *args, **kwargs)

    monkeypatch.setattr(stripe.TransferService, "create", create_observed)

    payout = statement_pay(statement_id=march.pk)

    assert seen["payer in a transaction"] is False
    assert seen["claim seen elsewhere"] is True
    assert isinstance(seen["second payer"], PayoutUnderWay)
    (transfer,) = stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data
    assert payout.reference == transfer.id
    march.refresh_from_db()
    assert march.status == Statement.Status.PAID
    assert march.payout_claim is None


@pytest.mark.django_db
def test_no_one_pays_a_statement_whose_stripe_payout_is_under_way(fresh_stripe, shop):
    payout_account_set(shop=shop, stripe_account_id=connected_account())
    march = issued_march(shop)
    # A payer has claimed the payout and is waiting for Stripe's answer.
    Statement.objects.filter(pk=march.pk).update(payout_claim=uuid.uuid4(), payout_claimed_at=timezone.now())

    with pytest.raises(PayoutUnderWay):
        statement_pay(statement_id=march.pk)
    payout_account_set(shop=shop, stripe_account_id="")
    with pytest.raises(PayoutUnderWay):  # nor is it paid by bank meanwhile
        statement_pay(statement_id=march.pk, reference="ICBC-1")

    assert not stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data
    assert not Payout.objects.exists()
    march.refresh_from_db()
    assert march.status == Statement.Status.ISSUED


@pytest.mark.django_db
def test_a_claim_left_by_a_payer_that_died_is_taken_over_and_gets_the_same_transfer(fresh_stripe, shop):
    """The payer claimed the payout and Stripe made the transfer, then its process died before recording
    it: minutes later the next payer takes the claim over and records that transfer."""
    staff = association_member()
    payout_account_set(shop=shop, stripe_account_id=connected_account())
    march = issued_march(shop)
    made = stripe_client().v1.transfers.create(
        params=payout_transfer_params(march, shop.payout_account),
        options={"idempotency_key": f"statement-{march.pk}-payout"},
    )
    Statement.objects.filter(pk=march.pk).update(
        payout_claim=uuid.uuid4(),
        payout_claimed_at=timezone.now() - PAYOUT_CLAIM_STALE - datetime.timedelta(seconds=1),
    )

    payout = statement_pay(statement_id=march.pk, actor=staff)

    assert payout.reference == made.id
    assert payout.paid_by == staff
    assert len(stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data) == 1
    march.refresh_from_db()
    assert march.status == Statement.Status.PAID
    assert march.payout_claim is None
    assert march.payout_claimed_at is None


@pytest.mark.django_db
def test_an_unknown_connected_account_is_refused(fresh_stripe, shop):
    with pytest.raises(StatementError):
        payout_account_set(shop=shop, stripe_account_id="acct_nobody")
    with pytest.raises(StatementError):
        payout_account_set(shop=shop, stripe_account_id="bank-123")
    assert not ShopPayoutAccount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_connected_account_is_checked_with_stripe_outside_a_transaction(fresh_stripe, shop, monkeypatch):
    retrieve = stripe.AccountService.retrieve
    in_transaction: list[bool] = []

    def retrieve_observed(self, *args, **kwargs):
        in_transaction.append(connection.in_atomic_block)
        return retrieve(self, *args, **kwargs)

    monkeypatch.setattr(stripe.AccountService, "retrieve", retrieve_observed)

    account = payout_account_set(shop=shop, stripe_account_id=connected_account())

    assert in_transaction == [False]
    assert ShopPayoutAccount.objects.get(shop=shop) == account


def test_localstripe_transfers_honour_idempotency_and_check_their_input(fresh_stripe):
    client = stripe_client()
    account = connected_account()
    params = {"amount": 1000, "currency": "cny", "destination": account, "transfer_group": "ST-TEST"}
    one = client.v1.transfers.create(params=params, options={"idempotency_key": "k-1"})
    again = client.v1.transfers.create(params=params, options={"idempotency_key": "k-1"})
    other = client.v1.transfers.create(params=params, options={"idempotency_key": "k-2"})
    assert one.id == again.id != other.id
    assert client.v1.transfers.retrieve(one.id).amount == 1000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(params={**params, "amount": 999}, options={"idempotency_key": "k-1"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(params={**params, "amount": 0})
    with pytest.raises(stripe.StripeError):
        client.v1.transfers.create(params={**params, "destination": "acct_missing"})
    assert client.v1.accounts.retrieve(account).id == account
    assert len(client.v1.transfers.list(params={"transfer_group": "ST-TEST"}).data) == 2


@pytest.mark.django_db
def test_checkout_groups_the_charge_and_a_cancelled_paid_order_nets_to_nothing(
    fresh_stripe,
    paid_order,  # noqa: F811  (the imported fixtures)
    shop_a,  # noqa: F811
    shop_b,  # noqa: F811
):
    """The real flow: a buyer pays (the PaymentIntent carries the order's transfer_group), shop A
    refunds one box by line, shop B cancels its part after payment (a full refund by amount)."""
    intent_id = Payment.objects.get(order=paid_order).intent_id
    assert stripe_client().v1.payment_intents.retrieve(intent_id).transfer_group == paid_order.number
    commission_rule_add(percent=Decimal("5"), effective_from=datetime.date(2026, 1, 1))
    part_a = paid_order.shop_orders.get(shop=shop_a.shop)
    part_b = paid_order.shop_orders.get(shop=shop_b.shop)
    shop_order_refund(shop_order_id=part_a.pk, lines={part_a.lines().get().pk: 1})
    shop_order_cancel(shop_order_id=part_b.pk, reason="缺货")

    statements = {s.shop_id: s for s in statements_generate(month=timezone.localdate())}

    a, b = statements[shop_a.shop.pk], statements[shop_b.shop.pk]
    goods_a = part_a.lines_total  # two boxes at 168.00
    assert a.sales == part_a.total
    assert a.refunds == Decimal("168.00")
    assert a.commission == Decimal("16.80")
    assert a.commission_reversal == Decimal("8.40")
    assert a.payable == part_a.total - Decimal("168.00") - Decimal("16.80") + Decimal("8.40")
    assert goods_a == Decimal("336.00")
    assert b.sales == b.refunds == part_b.total
    assert b.commission == b.commission_reversal == Decimal("4.90")
    assert b.payable == Decimal("0.00")


@pytest.mark.django_db(transaction=True)
def test_two_staff_paying_at_once_make_one_transfer(fresh_stripe, shop):
    postgresql_only()
    payout_account_set(shop=shop, stripe_account_id=connected_account())
    march = issued_march(shop)
    start = threading.Barrier(2)
    outcomes: list[object] = []
    lock = threading.Lock()

    def pay() -> None:
        try:
            start.wait()
            result = statement_pay(statement_id=march.pk).reference
        except Exception as error:  # noqa: BLE001  (recorded and asserted below)
            result = error
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    transfers = stripe_client().v1.transfers.list(params={"transfer_group": march.number}).data
    assert len(transfers) == 1
    assert Payout.objects.filter(statement=march).count() == 1
    # The second payer found the statement paid, or was told the first payer's payment was under way.
    assert len(outcomes) == 2
    assert transfers[0].id in outcomes
    assert all(o == transfers[0].id or isinstance(o, PayoutUnderWay) for o in outcomes), outcomes


@pytest.mark.django_db(transaction=True)
def test_two_staff_adding_the_first_rule_of_a_scope_at_once_make_one_rule(shop):
    from shops.settlement.models import CommissionRule
    from shops.settlement.rules import CommissionRuleError

    postgresql_only()
    start = threading.Barrier(2)
    outcomes: list[object] = []
    lock = threading.Lock()

    def add(percent: str) -> None:
        try:
            start.wait()
            result = commission_rule_add(
                percent=Decimal(percent), shop=shop, effective_from=datetime.date(2026, 1, 1)
            ).percent
        except CommissionRuleError as error:
            result = error
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=add, args=(p,)) for p in ("3", "4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert CommissionRule.objects.filter(shop=shop, category=None).count() == 1
    assert sorted(type(o).__name__ for o in outcomes) == ["CommissionRuleError", "Decimal"]
