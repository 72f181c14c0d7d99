"""The sales review's charts, drawn on the server with matplotlib as SVG. Text stays text
(``svg.fonttype = "none"``) so the browser draws the Chinese names with its own fonts."""

import io
import re
import warnings
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

from marketplace.safe_text import chart_text
from shops.sales.selectors import SalesReview  # noqa: E402

GREEN, GREY = "#2f6b3a", "#b8c4b9"
# The browser picks the first it has; the server has no CJK font, and needs none.
FONT_STACK = (
    "'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Source Han Sans SC',"
    "'WenQuanYi Micro Hei',sans-serif"
)
MOST_GROUPS = 12
MARKED_DAYS_MAX = 40  # beyond this many days the line has no point markers


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "sales"}), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph … missing from font": the browser has the glyphs
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog or doctype: the SVG goes inline in the page
    return re.sub(r"font-family:\s*[^;\"]+", f"font-family:{FONT_STACK}", svg)


def _short(label: str, size: int = 14) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def sales_chart_svg(
    review: SalesReview, *, title_groups: str, title_daily: str, this: str, before: str
) -> str:
    """Net sales per group, this period beside the previous one (the largest groups), and net sales per
    day of the period."""
    rows = review.rows[:MOST_GROUPS]
    height = 2.2 + 0.32 * max(len(rows), 1)
    figure = Figure(figsize=(7, height + 2.6), layout="constrained")
    bars, daily = figure.subfigures(2, 1, height_ratios=[height, 2.6])
    axes = bars.subplots()
    labels = [chart_text(_short(row.figures.label)) for row in rows][::-1]
    positions = range(len(rows))
    current = [float(row.figures.net) for row in rows][::-1]
    previous = [float(row.previous_net) for row in rows][::-1]
    axes.barh([p + 0.2 for p in positions], current, height=0.4, color=GREEN, label=this)
    axes.barh([p - 0.2 for p in positions], previous, height=0.4, color=GREY, label=before)
    axes.set_yticks(list(positions), labels)
    axes.set_title(chart_text(title_groups), loc="left", fontsize=11)
    axes.tick_params(labelsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    line = daily.subplots()
    days = [day for day, _net in review.daily]
    line.plot(
        days,
        [float(net) for _day, net in review.daily],
        color=GREEN,
        marker="o" if len(days) < MARKED_DAYS_MAX else None,
    )
    line.axhline(float(Decimal(0)), color=GREY, linewidth=0.8)
    line.set_title(chart_text(title_daily), loc="left", fontsize=11)
    line.tick_params(labelsize=8)
    line.spines[["top", "right"]].set_visible(False)
    figure.autofmt_xdate()
    return _svg(figure)
