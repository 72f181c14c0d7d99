"""The farmer's view of their shop's monthly settlement statements (list, one statement, CSV, PDF).
Statements are looked up within the console's shop: another shop's statement number is 404."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView, View

from shops.console.access import ShopConsoleMixin
from shops.settlement import selectors
from shops.settlement.exports import definitions_text, statement_csv_response, statement_pdf_response
from shops.settlement.models import Statement


class StatementListView(ShopConsoleMixin, TemplateView):
    template_name = "shops/console/statements.html"
    section = "sales"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(statements=selectors.statements(shop_id=self.shop.pk), **kwargs)


class StatementObjectMixin(ShopConsoleMixin):
    kwargs: dict[str, Any]  # the URL's, set by Django's View

    def objects_load(self) -> None:
        try:
            self.statement = selectors.statement_detail(number=self.kwargs["statement"], shop_id=self.shop.pk)
        except Statement.DoesNotExist as error:
            raise Http404 from error


class StatementDetailView(StatementObjectMixin, TemplateView):
    template_name = "shops/console/statement.html"
    section = "sales"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("statement", None)  # the URL's statement number: the context gets the statement itself
        return super().get_context_data(
            statement=self.statement,
            lines=selectors.statement_lines(self.statement),
            carried_into=selectors.statement_carried_into(self.statement),
            definitions=definitions_text(),
            **kwargs,
        )


class StatementCsvView(StatementObjectMixin, View):
    def get(self, request: HttpRequest, statement: int) -> HttpResponse:
        return statement_csv_response(self.statement)


class StatementPdfView(StatementObjectMixin, View):
    def get(self, request: HttpRequest, statement: int) -> HttpResponse:
        return statement_pdf_response(self.statement)
