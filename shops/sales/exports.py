"""The sales review's table as a file: CSV (UTF-8 with a byte-order mark, so Excel opens the Chinese
names right) and Excel (openpyxl). The same rows as the page, then the total."""

import csv
import io
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook

from marketplace.safe_text import spreadsheet_row
from shops.sales.selectors import Figures, Row, SalesReview


def table_header(dimension_label: str) -> list[str]:
    return [
        str(dimension_label),
        _("Orders"),
        _("Units"),
        _("Gross sales"),
        _("Refunds"),
        _("Net sales"),
        _("Average order value"),
        _("Repeat buyers"),
        _("Pre-sale share (%)"),
        _("Net sales, previous period"),
        _("Change (%)"),
    ]


def _cells(figures: Figures, previous_net: Decimal | None, change: Decimal | None) -> list:
    return [
        figures.label,
        figures.orders,
        figures.units,
        figures.gross,
        figures.refunds,
        figures.net,
        figures.average_order_value,
        figures.repeat_buyers,
        figures.presale_share,
        previous_net,
        change,
    ]


def table_rows(review: SalesReview) -> list[list]:
    """The table's rows, then the total (None where a figure is not counted)."""
    rows = [_cells(row.figures, row.previous_net, row.change_previous) for row in review.rows]
    total = Figures(**{**review.totals.__dict__, "label": _("Total")})
    rows.append(
        _cells(total, review.totals_previous.net, Row(total, review.totals_previous.net).change_previous)
    )
    return rows


def sales_csv(review: SalesReview, dimension_label: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_row(table_header(dimension_label)))
    for row in table_rows(review):
        writer.writerow(spreadsheet_row(["" if cell is None else cell for cell in row]))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sales_xlsx(review: SalesReview, dimension_label: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = review.period.label[:31].replace(":", "-")
    sheet.append(spreadsheet_row(table_header(dimension_label)))
    for row in table_rows(review):
        sheet.append(spreadsheet_row([float(cell) if isinstance(cell, Decimal) else cell for cell in row]))
    for column in "DEFGJ":
        for cell in sheet[column][1:]:
            cell.number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 28
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
