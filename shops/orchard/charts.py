"""A plot's sensor chart: one metric over 7 or 30 days from the roll-ups (the mean as a line, the lowest
and highest as a band, the plot's alert thresholds dashed), drawn with matplotlib as SVG the way the
sales review draws its charts (``shops.sales.charts``)."""

from typing import Any

from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure

from marketplace.safe_text import chart_text
from shops.orchard.metrics import Metric
from shops.orchard.selectors import ChartPoint
from shops.sales.charts import GREEN, GREY, _svg

RED = "#b5472b"


def metric_chart_svg(
    *, metric: Metric, points: list[ChartPoint], thresholds: list[float], title: str, empty: str
) -> str:
    figure = Figure(figsize=(4.2, 2.4), layout="constrained")
    axes = figure.subplots()
    axes.set_title(chart_text(f"{title} ({metric.unit})"), loc="left", fontsize=10)
    if points:
        times: list[Any] = [p.at for p in points]  # matplotlib takes datetimes; its stubs say numbers
        axes.fill_between(
            times, [p.low for p in points], [p.high for p in points], color=GREY, alpha=0.5, linewidth=0
        )
        axes.plot(times, [p.mean for p in points], color=GREEN, linewidth=1.4)
        for threshold in thresholds:
            axes.axhline(threshold, color=RED, linewidth=0.9, linestyle="--")
        locator = AutoDateLocator(maxticks=6)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(DateFormatter("%m-%d", tz=times[0].tzinfo))
    else:
        axes.text(0.5, 0.5, chart_text(empty), ha="center", va="center", transform=axes.transAxes, fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
