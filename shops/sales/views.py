"""The association's sales review and logistics performance (staff only), and the public open data."""

import csv
import hashlib
import io
import json
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView

from logistics.performance import (
    COLD_CHAIN_BREACH_DAYS,
    consignments_needing_routing,
    legs_cold_chain_broken,
    logistics_performance,
)
from marketplace.safe_text import spreadsheet_row
from shops.association.access import AssociationAccessMixin
from shops.sales.charts import sales_chart_svg
from shops.sales.exports import sales_csv, sales_xlsx, table_header
from shops.sales.facts import facts_version
from shops.sales.forms import PeriodForm, SalesFilterForm, period_from
from shops.sales.open_data import CACHE_SECONDS, open_data
from shops.sales.selectors import SalesReview, review_choices, sales_review

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SalesReviewMixin(AssociationAccessMixin):
    section = "sales"

    def review(self, *, report_problems: bool = True, **parts: Any) -> SalesReview:
        """The review of the request's filters; ``parts`` as ``sales_review`` takes them."""
        choices = review_choices()
        form = SalesFilterForm(self.request.GET, choices=choices)
        if report_problems:
            for problem in form.problems():
                messages.warning(self.request, problem)
        period = period_from(form)
        dimension = form.chosen_dimension()
        review = sales_review(
            period=period, filters=form.filters(), dimension=dimension, choices=choices, **parts
        )
        return form, review

    def query(self, **changes: Any) -> str:
        params = self.request.GET.copy()
        params.pop("format", None)
        for name, value in changes.items():
            params[name] = value
        return params.urlencode()


# The page shows the largest rows; the exports carry every row (a marketplace has thousands of products).
PAGE_ROWS = 100
CHART_CACHE_SECONDS = 600


class SalesReviewView(SalesReviewMixin, TemplateView):
    template_name = "sales/review.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The series per day is drawn by the chart (its own request); the page shows none of it.
        form, review = self.review(daily=False)
        dimension_label = review.dimension_label
        step = {"period": review.period.kind}
        if review.period.kind == "custom":
            before, after = review.period.previous(), review.period.next()
            previous_query = self.query(**step, start=before.start.isoformat(), end=before.end.isoformat())
            next_query = self.query(**step, start=after.start.isoformat(), end=after.end.isoformat())
        else:
            previous_query = self.query(**step, on=review.previous.start.isoformat())
            next_query = self.query(**step, on=review.period.next().start.isoformat())
        return super().get_context_data(
            form=form,
            review=review,
            shown_rows=review.rows[:PAGE_ROWS],
            more_rows=max(len(review.rows) - PAGE_ROWS, 0),
            dimension_label=dimension_label,
            header=table_header(dimension_label),
            query=self.query(),
            previous_query=previous_query,
            next_query=next_query,
            **kwargs,
        )


class SalesChartView(SalesReviewMixin, View):
    """The chart of the current view as an SVG image (its own request, so the page is not kept waiting)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Drawing takes matplotlib a good half second: a chart is kept until the facts change (the
        # version is bumped by every refresh) or for ten minutes.
        query = hashlib.sha256(self.query().encode()).hexdigest()[:32]
        key = f"sales-chart:{facts_version()}:{get_language()}:{query}"
        svg = cache.get(key)
        if svg is None:
            svg = self.chart_draw()
            cache.set(key, svg, CHART_CACHE_SECONDS)
        return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")

    def chart_draw(self) -> str:
        # The chart draws the rows' net sales (with the previous period's) and the series per day.
        _form, review = self.review(report_problems=False, totals=False, buyers=False)
        return sales_chart_svg(
            review,
            title_groups=_("Net sales by %(dimension)s (¥)") % {"dimension": review.dimension_label},
            title_daily=_("Net sales per day (¥)"),
            this=review.period.label,
            before=review.previous.label,
        )


class SalesExportView(SalesReviewMixin, View):
    """The current table as CSV or Excel (``?format=csv|xlsx`` and the page's own filters)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _form, review = self.review(report_problems=False, daily=False)  # the table has no series per day
        dimension_label = review.dimension_label
        name = f"sales-{review.dimension}-{review.period.start:%Y%m%d}-{review.period.end:%Y%m%d}"
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(sales_xlsx(review, dimension_label), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        else:
            response = HttpResponse(
                sales_csv(review, dimension_label), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


class LogisticsPerformanceView(AssociationAccessMixin, TemplateView):
    template_name = "sales/logistics.html"
    section = "logistics"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = PeriodForm(self.request.GET)
        for problem in form.problems():
            messages.warning(self.request, problem)
        period = period_from(form)
        return super().get_context_data(
            form=form,
            period=period,
            partners=logistics_performance(period=period),
            needing_routing=list(consignments_needing_routing()),
            cold_chain_broken=list(legs_cold_chain_broken()),
            cold_chain_days=COLD_CHAIN_BREACH_DAYS,
            **kwargs,
        )


@method_decorator(cache_control(public=True, max_age=CACHE_SECONDS), name="dispatch")
class OpenDataView(TemplateView):
    template_name = "sales/open_data.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(months=open_data(), **kwargs)


def _open_data_json() -> dict:
    return {
        "title": "乡味集市 open sales data",
        "definitions": {
            "orders": "paid shop orders (one buyer's order counts once per shop); by category: orders "
            "containing that category",
            "units": "units sold",
            "gross": "CNY: goods and shipping charged (by category: goods only)",
            "net": "CNY: gross minus refunds made that month (by category: refunds of its lines)",
            "month": "Asia/Shanghai calendar month of the payment (refunds: of the refund)",
            "note": "a figure is null for a group of fewer than 3 shops, and for a group withheld so that "
            "no such figure can be worked out by subtraction; no total is published",
        },
        "months": [
            {
                "month": month.label,
                "by_county": [row.published() for row in month.by_county],
                "by_village": [row.published() for row in month.by_village],
                "by_category": [row.published() for row in month.by_category],
            }
            for month in open_data()
        ],
    }


@cache_control(public=True, max_age=CACHE_SECONDS)
def open_data_json(request: HttpRequest) -> HttpResponse:
    body = json.dumps(_open_data_json(), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


@cache_control(public=True, max_age=CACHE_SECONDS)
def open_data_csv(request: HttpRequest) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["month", "breakdown", "name", "code", "county", "orders", "units", "gross", "net", "note"]
    )
    for month in _open_data_json()["months"]:
        for breakdown in ("by_county", "by_village", "by_category"):
            for row in month[breakdown]:
                writer.writerow(
                    spreadsheet_row(
                        [
                            month["month"],
                            breakdown.removeprefix("by_"),
                            row["name"],
                            row["code"],
                            row.get("county", ""),
                            *("" if row[k] is None else row[k] for k in ("orders", "units", "gross", "net")),
                            row["note"],
                        ]
                    )
                )
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="xiangwei-open-sales.csv"'
    response["Access-Control-Allow-Origin"] = "*"
    return response
