"""Commission rules: adding and ending them (audited), and which rule applies to an order line.

Which rule applies to a line sold by shop S on day D (rules in force on D only): the shop's rule for
the line's category or the nearest ancestor of it; else the shop's rule for all its goods; else the
association's rule for the category or its nearest ancestor; else the default rule; else no
commission. A product in several categories takes the deepest category that has a rule."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils.translation import gettext as _

from marketplace.locks import for_update
from shops.association.audit import acting_user, audit_record
from shops.settlement.models import CommissionRule

if TYPE_CHECKING:
    from oscar.apps.catalogue.models import Category
    from oscar.apps.partner.models import Partner

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


class CommissionRuleError(ValueError):
    pass


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def commission_of(base: Decimal, percent: Decimal) -> Decimal:
    """Commission on ``base`` at ``percent``, to the fen (half up)."""
    return money(base * percent / HUNDRED)


def _overlaps(rule: CommissionRule, start: datetime.date, end: datetime.date | None) -> bool:
    before_end = end is None or rule.effective_from <= end
    after_start = rule.effective_to is None or rule.effective_to >= start
    return before_end and after_start


def _details(rule: CommissionRule) -> dict[str, Any]:
    return {
        "percent": str(rule.percent),
        "category": rule.category_id,
        "shop": rule.shop_id,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
    }


# Rule writes are rare: they take one transaction-scoped lock so two staff adding the first rule of a
# scope at once cannot both pass the overlap check (a row lock cannot cover a row not yet there).
# SQLite serialises writing transactions by itself.
RULES_LOCK_KEY = 0x5E771E  # "settle"


def _rules_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RULES_LOCK_KEY])


@transaction.atomic
def commission_rule_add(
    *,
    percent: Decimal,
    effective_from: datetime.date,
    effective_to: datetime.date | None = None,
    category: "Category | None" = None,
    shop: "Partner | None" = None,
    note: str = "",
    actor: AbstractBaseUser | None = None,
) -> CommissionRule:
    """Add a rule; refused if another rule of the same scope (same category, same shop) is in force on
    any of its days."""
    if percent is None or not (Decimal("0") <= percent <= HUNDRED):
        raise CommissionRuleError(_("A commission is a percentage from 0 to 100."))
    if percent != percent.quantize(CENT):
        raise CommissionRuleError(_("A commission has at most two decimal places."))
    if effective_to is not None and effective_to < effective_from:
        raise CommissionRuleError(_("A rule cannot end before it starts."))
    _rules_lock()
    same_scope = CommissionRule.objects.filter(category=category, shop=shop)
    for other in same_scope:
        if _overlaps(other, effective_from, effective_to):
            raise CommissionRuleError(
                _(
                    "Another rule for %(scope)s is in force from %(from)s to %(to)s: end it before "
                    "this one starts, or choose other dates."
                )
                % {
                    "scope": other.scope_label(),
                    "from": other.effective_from.isoformat(),
                    "to": other.effective_to.isoformat() if other.effective_to else _("no end"),
                }
            )
    rule = CommissionRule.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        percent=percent,
        category=category,
        shop=shop,
        effective_from=effective_from,
        effective_to=effective_to,
        note=note,
        created_by=acting_user(actor),
    )
    audit_record(actor=actor, action="commission.add", subject=rule, reason=note, details=_details(rule))
    return rule


@transaction.atomic
def commission_rule_end(
    *, rule_id: int, last_day: datetime.date, actor: AbstractBaseUser | None = None, reason: str = ""
) -> CommissionRule:
    """End a rule: ``last_day`` is the last day it is in force. It can only be brought forward."""
    rule = for_update(CommissionRule.objects.all()).get(pk=rule_id)
    if last_day < rule.effective_from:
        raise CommissionRuleError(
            _("A rule cannot end before it starts (%(day)s).") % {"day": rule.effective_from.isoformat()}
        )
    if rule.effective_to is not None and last_day >= rule.effective_to:
        raise CommissionRuleError(
            _("This rule already ends on %(day)s.") % {"day": rule.effective_to.isoformat()}
        )
    rule.effective_to = last_day
    rule.save(update_fields=["effective_to"])
    audit_record(actor=actor, action="commission.end", subject=rule, reason=reason, details=_details(rule))
    return rule


@dataclass(frozen=True)
class Rate:
    percent: Decimal
    rule: CommissionRule | None


NO_RULE = Rate(percent=Decimal("0"), rule=None)


class CommissionBook:
    """Every rule, loaded once, answering which rate applies to a line (rules are few: a page of them)."""

    def __init__(self, rules: Iterable[CommissionRule] | None = None) -> None:
        if rules is None:
            rules = CommissionRule.objects.select_related("category")
        self.rules = list(rules)

    def rate(self, *, shop_id: int, category_paths: list[str], day: datetime.date) -> Rate:
        in_force = [rule for rule in self.rules if rule.in_force_on(day)]

        def nearest(candidates: list[CommissionRule]) -> CommissionRule | None:
            matching = [
                rule
                for rule in candidates
                if any(path.startswith(rule.category.path) for path in category_paths)  # type: ignore[union-attr]
            ]
            return max(
                matching,
                key=lambda rule: (len(rule.category.path), -rule.pk),  # type: ignore[union-attr]  # category rules
                default=None,
            )

        shop_rules = [rule for rule in in_force if rule.shop_id == shop_id]
        found = nearest([rule for rule in shop_rules if rule.category_id])
        if found is None:
            found = next((rule for rule in shop_rules if rule.category_id is None), None)
        association_rules = [rule for rule in in_force if rule.shop_id is None]
        if found is None:
            found = nearest([rule for rule in association_rules if rule.category_id])
        if found is None:
            found = next((rule for rule in association_rules if rule.category_id is None), None)
        return NO_RULE if found is None else Rate(percent=found.percent, rule=found)
