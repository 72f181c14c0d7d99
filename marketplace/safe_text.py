"""Typed text on its way into a renderer that is not HTML (spreadsheets, PDFs, charts): each has markup of
its own, and text a farmer, buyer or applicant typed must reach it as text, never as markup or a formula.
Every export and document passes its dynamic strings through the one function of its renderer here."""

import re
from xml.sax.saxutils import escape

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def spreadsheet_cell(value: object) -> object:
    """A cell for a CSV or Excel sheet: text that a spreadsheet would run as a formula gets a leading
    apostrophe (shown as text, never evaluated); numbers, and text that is just a number ("-12.00"),
    are left as they are so they stay numeric."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(row: list) -> list:
    return [spreadsheet_cell(cell) for cell in row]


def pdf_text(value: object) -> str:
    """Text for a reportlab ``Paragraph``, whose markup is XML: ``<img src=…>`` typed in a reason must print
    as those characters, not embed a file from the server (nor break the document with ``<b>``)."""
    return escape(str(value))


def chart_text(value: object) -> str:
    """Text for a matplotlib label: ``$…$`` would be read as mathematical markup (and can fail to draw)."""
    return str(value).replace("$", r"\$")
