"""What waits for the association's staff, as tiles on the workspace's overview. The association counts its
own work; the parts of the workspace built on it (settlement, the sales review) contribute theirs by
registering a counter here when their app is ready, so the association imports none of them."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WaitingTile:
    """One kind of work waiting for the association, with how many and where to do it."""

    label: str
    count: int
    url: str


Counter = Callable[[], list[WaitingTile]]

_counters: list[Counter] = []


def waiting_counter(counter: Counter) -> Counter:
    """Register ``counter`` (a decorator); its tiles follow the association's own, in app order."""
    if counter not in _counters:
        _counters.append(counter)
    return counter


def contributed_tiles() -> list[WaitingTile]:
    return [tile for counter in _counters for tile in counter()]
