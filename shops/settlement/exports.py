"""A statement as a CSV file (UTF-8 with a byte-order mark, so Excel reads the Chinese) and as a PDF
(reportlab with its built-in CID font STSong-Light: Chinese renders without shipping a font file)."""

import csv
import io
from collections.abc import Iterator

from django.http import HttpResponse
from django.utils.translation import gettext as _

from marketplace.safe_text import pdf_text, spreadsheet_row
from shops.settlement.models import Statement
from shops.settlement.selectors import statement_lines

PDF_FONT = "STSong-Light"


def _header() -> list[str]:
    return [_("Date"), _("Kind"), _("Order"), _("Detail"), _("Base"), _("Rate (%)"), _("Amount")]


def _rows(statement: Statement) -> Iterator[list[str]]:
    """The seven cells of each line, as text."""
    for line in statement_lines(statement):
        yield [
            line.day.isoformat(),
            line.get_kind_display(),
            line.reference,
            line.description,
            "" if line.base is None else f"{line.base:.2f}",
            "" if line.rate is None else f"{line.rate:.2f}",
            f"{line.amount:.2f}",
        ]


def _summary(statement: Statement) -> list[tuple[str, object]]:
    return [
        (_("Sales"), statement.sales),
        (_("Refunds"), -statement.refunds),
        (_("Commission"), -statement.commission),
        (_("Commission given back"), statement.commission_reversal),
        (_("Shipping subsidy"), -statement.shipping_subsidy),
        (_("Corrections"), statement.corrections),
        (_("Payable"), statement.payable),
    ]


def statement_csv(statement: Statement) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Statement number"), statement.number])
    writer.writerow(spreadsheet_row([_("Shop"), statement.shop.display_name]))
    writer.writerow([_("Month"), f"{statement.period:%Y-%m}"])
    writer.writerow([_("Status"), statement.get_status_display()])
    writer.writerow([])
    writer.writerow(_header())
    writer.writerows(spreadsheet_row(row) for row in _rows(statement))
    writer.writerow([])
    for label, amount in _summary(statement):
        writer.writerow([label, f"{amount:.2f}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def statement_pdf(statement: Statement) -> bytes:
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.lib.styles import getSampleStyleSheet  # noqa: PLC0415
    from reportlab.lib.units import mm  # noqa: PLC0415
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: PLC0415

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = PDF_FONT
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=statement.number,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    story = [
        Paragraph(pdf_text(f"{_('Settlement statement')} {statement.number}"), styles["Title"]),
        Paragraph(
            pdf_text(
                f"{statement.shop.display_name} · {statement.period:%Y-%m} · {statement.get_status_display()}"
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    # Kind, order and detail wrap inside their column.
    rows = [_header()] + [
        [
            day,
            Paragraph(pdf_text(kind), cell),
            Paragraph(pdf_text(reference), cell),
            Paragraph(pdf_text(detail), cell),
            *figures,
        ]
        for day, kind, reference, detail, *figures in _rows(statement)
    ]
    table = Table(
        rows, repeatRows=1, colWidths=[20 * mm, 24 * mm, 34 * mm, 50 * mm, 18 * mm, 14 * mm, 20 * mm]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0e9")),
                ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
            ]
        )
    )
    summary = Table(
        [[label, f"{amount:.2f}"] for label, amount in _summary(statement)], colWidths=[60 * mm, 30 * mm]
    )
    summary.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm), summary, Spacer(1, 4 * mm)]
    story.append(Paragraph(pdf_text(definitions_text()), cell))
    document.build(story)
    return buffer.getvalue()


def definitions_text() -> str:
    """What a statement counts, as the association defines it (printed on every statement)."""
    return _(
        "A sale is a shop order that was paid, dated by its payment day (Asia/Shanghai); its goods and its "
        "shipping count as sales. Commission is charged on goods only, at the rule in force on the sale "
        "day. A refund is dated by its own day and gives back the commission on what it refunds. Payable = "
        "sales − refunds − commission + commission given back − shipping subsidy + corrections. A paid "
        "statement never changes: later refunds and corrections go into the next statement; a negative "
        "balance is carried into it."
    )


def statement_csv_response(statement: Statement) -> HttpResponse:
    response = HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{statement.number}.csv"'
    return response


def statement_pdf_response(statement: Statement) -> HttpResponse:
    response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{statement.number}.pdf"'
    return response
