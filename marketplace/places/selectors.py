"""Reads of the region tree for addresses: the divisions under a region, and matching what a buyer typed
("浙江" for 浙江省, "丽水" for 丽水市) to one of them."""

from marketplace.places.models import Region


def region_children(*, parent: Region | None, level: int) -> list[Region]:
    return list(Region.objects.filter(parent=parent, level=level).order_by("code", "name"))


# A buyer may type the start of a name (leaving off 省 / 市 / 县 / 区), of at least this many characters.
PREFIX_MIN_CHARS = 2


def region_match(*, typed: str, candidates: list[Region]) -> Region | None:
    """The candidate named ``typed``, or the only one whose name starts with it (at least two characters:
    a buyer leaves off 省 / 市 / 县 / 区)."""
    typed = typed.strip()
    for region in candidates:
        if region.name == typed:
            return region
    if len(typed) < PREFIX_MIN_CHARS:
        return None
    starting = [region for region in candidates if region.name.startswith(typed)]
    return starting[0] if len(starting) == 1 else None
