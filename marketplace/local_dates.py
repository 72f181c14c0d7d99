"""Days and months in the marketplace's time zone (Asia/Shanghai): where a sale's day, a refund's day and a
statement's month begin and end. The sales facts and the settlement both count by them."""

import calendar
import datetime

from django.utils import timezone


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The moment ``day`` begins in the marketplace's time zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The start of ``day`` and of the next one, in the marketplace's time zone."""
    start = local_midnight(day)
    return start, start + datetime.timedelta(days=1)


def month_first(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_last(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_after(day: datetime.date) -> datetime.date:
    """The first day of the month after ``day``'s."""
    return month_last(day) + datetime.timedelta(days=1)


def month_before(day: datetime.date) -> datetime.date:
    """The first day of the month before ``day``'s."""
    return month_first(month_first(day) - datetime.timedelta(days=1))
