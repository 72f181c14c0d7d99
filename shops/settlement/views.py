"""The association's settlement pages: statements (list, one statement, its CSV and PDF, issue, pay,
corrections, the shop's payout account) and commission rules. Every view derives from
``AssociationAccessMixin``; every decision goes through a service that audits it."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from marketplace.local_dates import month_last
from marketplace.storefront.form_pages import PageFormAction
from shops.association.access import AssociationAccessMixin
from shops.settlement import selectors
from shops.settlement.exports import definitions_text, statement_csv_response, statement_pdf_response
from shops.settlement.forms import (
    CommissionRuleForm,
    CorrectionForm,
    GenerateForm,
    PayForm,
    PayoutAccountForm,
    RuleEndForm,
    StatementFilterForm,
)
from shops.settlement.models import CommissionRule, Statement
from shops.settlement.rules import CommissionRuleError, commission_rule_add, commission_rule_end
from shops.settlement.services import (
    StatementError,
    payout_account_set,
    statement_correction_add,
    statement_issue,
    statement_pay,
    statements_generate,
)

STATEMENTS_LISTED = 500


class StatementListView(AssociationAccessMixin, TemplateView):
    template_name = "settlement/statements.html"
    section = "settlement"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = StatementFilterForm(self.request.GET or None)
        chosen = form.cleaned_data if form.is_valid() else {}
        found = selectors.statements(
            period=chosen.get("month"), status=chosen.get("status", ""), query=chosen.get("q", "")
        )
        rows = list(found[:STATEMENTS_LISTED])
        kwargs.setdefault("generate_form", GenerateForm(initial={"month": f"{timezone.localdate():%Y-%m}"}))
        return super().get_context_data(
            form=form,
            statements=rows,
            truncated=len(rows) == STATEMENTS_LISTED,
            totals=selectors.statements_totals(found),
            **kwargs,
        )


class StatementsGenerateView(PageFormAction, StatementListView):
    form_name = "generate_form"
    page_name = "association:statements"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = GenerateForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        month = form.cleaned_data["month"]
        try:
            made = statements_generate(month=month)
        except StatementError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request,
            _("%(month)s: %(count)s statements generated (issued and paid ones are left as they are).")
            % {"month": f"{month:%Y-%m}", "count": len(made)},
        )
        return redirect(f"{reverse('association:statements')}?month={month:%Y-%m}")


class StatementObjectMixin(AssociationAccessMixin):
    """The statement is looked up inside the handler, after the mixin's access check."""

    def statement(self) -> Statement:
        try:
            return selectors.statement_detail(pk=self.kwargs["pk"])
        except Statement.DoesNotExist as error:
            raise Http404 from error

    def back(self) -> HttpResponse:
        return redirect("association:statement", pk=self.kwargs["pk"])


class StatementDetailView(StatementObjectMixin, TemplateView):
    template_name = "settlement/statement.html"
    section = "settlement"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        statement = self.statement()
        account = selectors.payout_account(statement.shop_id)
        kwargs.setdefault("pay_form", PayForm())
        kwargs.setdefault("correction_form", CorrectionForm())
        kwargs.setdefault(
            "account_form",
            PayoutAccountForm(initial={"stripe_account_id": account.stripe_account_id if account else ""}),
        )
        return super().get_context_data(
            statement=statement,
            lines=selectors.statement_lines(statement),
            carried_into=selectors.statement_carried_into(statement),
            account=account,
            month_over=timezone.localdate() > month_last(statement.period),
            definitions=definitions_text(),
            **kwargs,
        )


class StatementIssueView(StatementObjectMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = self.statement()
        try:
            statement = statement_issue(statement_id=statement.pk, actor=request.user)
        except StatementError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Statement %(number)s issued.") % {"number": statement.number})
        return self.back()


class StatementFormAction(PageFormAction, StatementDetailView):
    """A form of the statement's page: refused input is answered with the statement's page."""

    page_name = "association:statement"


class StatementPayView(StatementFormAction):
    form_name = "pay_form"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = self.statement()
        form = PayForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            payout = statement_pay(
                statement_id=statement.pk, actor=request.user, reference=form.cleaned_data["reference"]
            )
        except StatementError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request,
            _("Statement %(number)s paid: %(method)s %(reference)s.")
            % {
                "number": statement.number,
                "method": payout.get_method_display(),
                "reference": payout.reference,
            },
        )
        return self.back()


class StatementCorrectView(StatementFormAction):
    form_name = "correction_form"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = self.statement()
        form = CorrectionForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            statement_correction_add(statement_id=statement.pk, actor=request.user, **form.cleaned_data)
        except StatementError as error:
            return self.form_refused_page(form, str(error))
        messages.success(request, _("Correction added."))
        return self.back()


class PayoutAccountView(StatementFormAction):
    form_name = "account_form"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = self.statement()
        form = PayoutAccountForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            account = payout_account_set(
                shop=statement.shop,
                stripe_account_id=form.cleaned_data["stripe_account_id"],
                actor=request.user,
            )
        except StatementError as error:
            return self.form_refused_page(form, str(error))
        messages.success(
            request,
            _("Payout account saved.") if account else _("This shop is now paid by bank transfer."),
        )
        return self.back()


class StatementCsvView(StatementObjectMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return statement_csv_response(self.statement())


class StatementPdfView(StatementObjectMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return statement_pdf_response(self.statement())


class CommissionView(AssociationAccessMixin, TemplateView):
    template_name = "settlement/commission.html"
    section = "settlement"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form", CommissionRuleForm())
        return super().get_context_data(
            rules=selectors.commission_rules(), today=timezone.localdate(), **kwargs
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CommissionRuleForm(request.POST)
        if form.is_valid():
            try:
                commission_rule_add(actor=request.user, **form.cleaned_data)
            except CommissionRuleError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Commission rule added."))
                return redirect("association:commission")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CommissionEndView(PageFormAction, CommissionView):
    """Ends one rule; refused input is answered with the rules' page, the typed day kept on its row."""

    form_name = "end_form"

    def page_url(self) -> str:
        return reverse("association:commission")

    def form_context(self, form: forms.Form) -> dict[str, Any]:
        return {"end_form": form, "end_rule_id": self.kwargs["pk"]}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = CommissionRule.objects.filter(pk=pk).first()
        if rule is None:
            raise Http404
        form = RuleEndForm(request.POST)
        if not form.is_valid():
            return self.form_invalid_page(form)
        try:
            commission_rule_end(rule_id=rule.pk, actor=request.user, **form.cleaned_data)
        except CommissionRuleError as error:
            return self.form_refused_page(form, str(error))
        messages.success(request, _("Commission rule ended."))
        return redirect("association:commission")
