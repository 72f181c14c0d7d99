"""Reporting periods: a day, an ISO week (Monday to Sunday), a month, a meteorological season (winter is
December to February, across the year end) or a custom range; each with the period just before it and
the same period a year earlier."""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from marketplace.local_dates import month_last

DAY, WEEK, MONTH, SEASON, CUSTOM = "day", "week", "month", "season", "custom"
KINDS = [
    (DAY, _("Day")),
    (WEEK, _("Week")),
    (MONTH, _("Month")),
    (SEASON, _("Season")),
    (CUSTOM, _("Custom range")),
]
SEASON_NAMES = {3: _("Spring"), 6: _("Summer"), 9: _("Autumn"), 12: _("Winter")}
# A custom range is at most this long (the page stays fast; longer views are the exports' job anyway).
LONGEST_CUSTOM_DAYS = 732
MARCH, DECEMBER = 3, 12
# The days a period may cover: its comparisons reach a year back, which must stay a real date.
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date
    end: datetime.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> list[datetime.date]:
        return [self.start + datetime.timedelta(days=n) for n in range(self.days)]

    @property
    def label(self) -> str:
        if self.kind == DAY:
            return self.start.isoformat()
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == WEEK:
            year, week, _weekday = self.start.isocalendar()
            return f"{year}-W{week:02d} ({self.start.isoformat()} – {self.end.isoformat()})"
        if self.kind == SEASON:
            return (
                f"{self.start.year} {SEASON_NAMES[self.start.month]} ({self.start:%Y-%m} – {self.end:%Y-%m})"
            )
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def previous(self) -> "Period":
        """The period just before: the previous day, week, month or season; for a custom range, as many
        days just before it."""
        if self.kind == CUSTOM:
            return Period(
                CUSTOM,
                self.start - datetime.timedelta(days=self.days),
                self.start - datetime.timedelta(days=1),
            )
        return period_of(self.kind, self.start - datetime.timedelta(days=1))

    def next(self) -> "Period":
        if self.kind == CUSTOM:
            return Period(
                CUSTOM, self.end + datetime.timedelta(days=1), self.end + datetime.timedelta(days=self.days)
            )
        return period_of(self.kind, self.end + datetime.timedelta(days=1))

    def last_year(self) -> "Period":
        """The same period a year earlier: the same date, ISO week, month or season; a custom range
        shifted by a year (29 February becomes the 28th)."""
        if self.kind == WEEK:
            year, week, _weekday = self.start.isocalendar()
            try:
                return period_of(WEEK, datetime.date.fromisocalendar(year - 1, week, 1))
            except ValueError:  # week 53 in a year that has 52
                return period_of(WEEK, datetime.date.fromisocalendar(year - 1, 52, 1))
        if self.kind == CUSTOM:
            return Period(CUSTOM, _year_back(self.start), _year_back(self.end))
        return period_of(self.kind, _year_back(self.start))


def _year_back(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def period_of(kind: str, on: datetime.date) -> Period:
    """The day, week, month or season that holds ``on``."""
    if kind == DAY:
        return Period(DAY, on, on)
    if kind == WEEK:
        start = on - datetime.timedelta(days=on.weekday())
        return Period(WEEK, start, start + datetime.timedelta(days=6))
    if kind == MONTH:
        return Period(MONTH, on.replace(day=1), month_last(on))
    if kind == SEASON:
        first_month = (on.month // 3) * 3 or 12  # December, January and February are winter
        year = on.year - 1 if on.month < MARCH else on.year
        last_month = (first_month + 1) % 12 + 1
        return Period(
            SEASON,
            datetime.date(year, first_month, 1),
            month_last(datetime.date(year + (first_month == DECEMBER), last_month, 1)),
        )
    raise ValueError(f"unknown period kind {kind!r}")


def custom_period(start: datetime.date, end: datetime.date) -> Period:
    return Period(CUSTOM, start, end)
