"""China's administrative divisions down to the county (GB/T 2260), loaded into the region tree so the
checkout can suggest and check a delivery address's city and county.

The source (``data/adcodes.csv``, see ``data/NOTICE``) lists 12-digit codes; the tree keeps 6-digit ones.
Placeholders are folded the way a buyer writes an address: the municipalities' "市辖区" / "县" rows become
one city named like the municipality (上海市 › 上海市 › 浦东新区), county-level cities directly under a
province ("省直辖县级行政区划": 仙桃市, 石河子市 …) become cities of that province, and "市辖区" counties
are dropped.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from marketplace.places.models import Region

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "adcodes.csv"
PLACEHOLDER_CITIES = {"市辖区", "县"}


@dataclass(frozen=True)
class Division:
    code: str  # six digits
    name: str
    level: int
    parent_code: str | None


def divisions_read(*, path: Path = DIVISIONS_CSV) -> list[Division]:
    """Provinces, cities and counties in that order, each naming its parent's code."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sorted((row["adcode"][:6], row["name"].strip()) for row in csv.DictReader(handle))
    provinces = {code: name for code, name in rows if code.endswith("0000")}
    cities: dict[str, Division] = {}
    city_of: dict[str, str] = {}  # a county's 4-digit prefix → the code of the city it goes under
    counties: list[Division] = []
    for code, name in rows:
        province_code = code[:2] + "0000"
        if code.endswith("0000"):
            continue
        if code.endswith("00"):
            if name in PLACEHOLDER_CITIES:
                municipality = province_code[:2] + "0100"
                cities.setdefault(
                    municipality,
                    Division(municipality, provinces[province_code], Region.Level.CITY, province_code),
                )
                city_of[code[:4]] = municipality
            elif name.endswith("直辖县级行政区划"):
                city_of[code[:4]] = ""  # its counties are cities of the province
            else:
                cities[code] = Division(code, name, Region.Level.CITY, province_code)
                city_of[code[:4]] = code
            continue
        if name == "市辖区":
            continue
        parent = city_of.get(code[:4])
        if parent == "":
            cities[code] = Division(code, name, Region.Level.CITY, province_code)
        elif parent:
            counties.append(Division(code, name, Region.Level.COUNTY, parent))
    return [
        *(Division(code, name, Region.Level.PROVINCE, None) for code, name in sorted(provinces.items())),
        *sorted(cities.values(), key=lambda d: d.code),
        *counties,
    ]


@transaction.atomic
def divisions_load(*, path: Path = DIVISIONS_CSV) -> int:
    """Add the divisions the tree lacks (matched by code, or by name under the same parent); rows already
    there keep their names and English names. Returns how many regions were added. Idempotent."""
    by_code = {region.code: region for region in Region.objects.exclude(code="")}
    by_parent_name = {
        (region.parent_id, region.name): region for region in Region.objects.filter(level__lte=3)
    }
    added = 0
    for level in (Region.Level.PROVINCE, Region.Level.CITY, Region.Level.COUNTY):
        new = []
        for division in divisions_read(path=path):
            if division.level != level or division.code in by_code:
                continue
            parent = by_code.get(division.parent_code) if division.parent_code else None
            if division.parent_code and parent is None:
                continue  # its parent could not be placed (should not happen with the shipped data)
            same_name = by_parent_name.get((parent.pk if parent else None, division.name))
            if same_name is not None:
                by_code[division.code] = same_name  # already there without (or with another) code
                continue
            new.append(Region(code=division.code, name=division.name, level=level, parent=parent))
        for region in Region.objects.bulk_create(new, batch_size=500):
            by_code[region.code] = region
            by_parent_name[(region.parent_id, region.name)] = region
        added += len(new)
    return added
