from django.contrib import admin

from marketplace.settlement.models import CommissionRule, Payout, ShopPayoutAccount, Statement


@admin.register(CommissionRule)
class CommissionRuleAdmin(admin.ModelAdmin):
    """Read-only: rules are added and ended in the association's workspace, where it is audited."""

    list_display = ("scope_label", "percent", "effective_from", "effective_to")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Statement)
class StatementAdmin(CommissionRuleAdmin):
    list_display = ("number", "status", "payable")
    list_filter = ("status", "period")


@admin.register(Payout)
class PayoutAdmin(CommissionRuleAdmin):
    list_display = ("statement", "method", "reference", "amount", "paid_at")


@admin.register(ShopPayoutAccount)
class ShopPayoutAccountAdmin(CommissionRuleAdmin):
    list_display = ("shop", "stripe_account_id", "updated_at")
