"""Read-only: rules, statements, payouts and payout accounts change only through the association's
workspace, where every change is checked and audited."""

from django.contrib import admin

from marketplace.admin_readonly import ReadOnlyModelAdmin
from shops.settlement.models import CommissionRule, Payout, ShopPayoutAccount, Statement


@admin.register(CommissionRule)
class CommissionRuleAdmin(ReadOnlyModelAdmin):
    list_display = ("scope_label", "percent", "effective_from", "effective_to")


@admin.register(Statement)
class StatementAdmin(ReadOnlyModelAdmin):
    list_display = ("number", "status", "payable")
    list_filter = ("status", "period")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyModelAdmin):
    list_display = ("statement", "method", "reference", "amount", "paid_at")


@admin.register(ShopPayoutAccount)
class ShopPayoutAccountAdmin(ReadOnlyModelAdmin):
    list_display = ("shop", "stripe_account_id", "updated_at")
