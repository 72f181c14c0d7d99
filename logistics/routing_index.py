"""What routing knows about partners and places, held in memory by each worker process: the partners' service
areas and price rules, and the region tree (each region's lineage, and the provinces, cities and counties by
name for reading an address). Built from three queries as plain values. The partners themselves (kind, code,
active, cold chain, weight limit, capacity: one small table, the part that changes day to day) are read
afresh for every batch and joined to it, so switching a partner off or changing its capacity needs nothing
renewed.

**Invalidation.** The index is tagged with a version token kept in the cache (``VERSION_KEY``; Redis in
production, so every worker sees it). It is rebuilt when

- the token changes: the write paths of partners, service areas and price rules (the partner admin) call
  ``routing_index_invalidate()``, which sets a new token at once and again after the commit, so a process
  that rebuilt between the two from data not yet committed rebuilds again;
- the token is missing (cache cleared, evicted, restarted: a fresh token is added, so no process keeps an
  index it cannot date; a cache that does not answer at all means a rebuild for every batch);
- a partner or a region routing meets is not in it (a partner added since; a village made since, e.g. by a
  shop's admission);
- it is older than ``MAX_AGE_SECONDS``: the safety net for writes that go round the write paths (the region
  admin, which sits in a lower layer; a data migration; ``demo_load`` in another process with the
  local-memory cache; a shell).

Capacity is never taken from the index alone: booking checks ``daily_capacity`` in the database.
"""

import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction

from logistics.models import LogisticsPartner, PriceRule, ServiceArea
from marketplace.places.models import Region
from marketplace.places.selectors import region_match

VERSION_KEY = "logistics:routing-index:version"
MAX_AGE_SECONDS = 60.0
# A partner as read for each batch: pk, code, kind, active, cold chain, heaviest parcel, parcels a day.
PartnerRow = tuple[int, str, str, bool, bool, int, int]
# Distinct address texts whose region is remembered per index (then it starts again: a bound, not an LRU).
ADDRESS_MEMO_MAX = 100_000


@dataclass(frozen=True, slots=True)
class PriceEntry:
    first_kg: Decimal
    extra_kg: Decimal
    promised_days: int


@dataclass(frozen=True, slots=True)
class PartnerEntry:
    pk: int
    code: str
    kind: str
    active: bool
    cold_chain: bool
    max_parcel_weight_g: int
    daily_capacity: int
    areas: frozenset[int]  # the regions of its service areas (each covers everything below it)
    zones: dict[int, PriceEntry]  # price rule by zone region id
    catch_all: PriceEntry | None  # its price rule without a zone (the first, if several)

    def price_for(self, lineage: tuple[int, ...]) -> PriceEntry | None:
        """The deepest rule whose zone holds the place of ``lineage`` (itself first), else the catch-all."""
        zones = self.zones
        if zones:
            for region_id in lineage:
                rule = zones.get(region_id)
                if rule is not None:
                    return rule
        return self.catch_all


@dataclass(frozen=True)
class RoutingIndex:
    """Read-only once built (the address memo aside, which only remembers answers). ``partners`` are those
    read for the batch at hand (``routing_index`` joins them to the cached areas and prices)."""

    token: str | None
    built_at: float
    areas: dict[int, frozenset[int]]  # partner id → the regions of its service areas
    zones: dict[int, dict[int, PriceEntry]]  # partner id → its price rules by zone region id
    catch_all: dict[int, PriceEntry]  # partner id → its price rule without a zone (the first, if several)
    partner_ids: frozenset[int]  # the partners the areas and prices were read for
    lineages: dict[int, tuple[int, ...]]  # region id → itself and its ancestors, deepest first
    provinces: list[Region]
    children: dict[tuple[int, int], list[Region]]  # (parent id, level) → regions, by code and name
    partners: tuple[PartnerEntry, ...] = ()  # ordered by code
    _by_kinds: dict[tuple[str, ...], tuple[PartnerEntry, ...]] = field(default_factory=dict)
    _addresses: dict[tuple[str, str, str], int | None] = field(default_factory=dict)
    _serving: dict[int, frozenset[int]] = field(default_factory=dict)

    def with_partners(self, rows: list[PartnerRow]) -> "RoutingIndex":
        partners = tuple(
            PartnerEntry(
                pk=pk,
                code=code,
                kind=kind,
                active=active,
                cold_chain=cold_chain,
                max_parcel_weight_g=max_weight,
                daily_capacity=capacity,
                areas=self.areas.get(pk, frozenset()),
                zones=self.zones.get(pk, {}),
                catch_all=self.catch_all.get(pk),
            )
            for pk, code, kind, active, cold_chain, max_weight, capacity in rows
        )
        return replace(self, partners=partners, _by_kinds={})

    def partners_of(self, kinds: tuple[str, ...]) -> tuple[PartnerEntry, ...]:
        found = self._by_kinds.get(kinds)
        if found is None:
            found = tuple(p for p in self.partners if p.kind in kinds)
            self._by_kinds[kinds] = found
        return found

    def serving(self, lineage: tuple[int, ...]) -> frozenset[int]:
        """The partners (any kind) with a service area holding the place of ``lineage``."""
        found = self._serving.get(lineage[0])
        if found is None:
            found = frozenset(pk for pk, regions in self.areas.items() if not regions.isdisjoint(lineage))
            self._serving[lineage[0]] = found
        return found

    def lineage(self, region_id: int | None) -> tuple[int, ...]:
        if region_id is None:
            return ()
        return self.lineages.get(region_id, ())

    def knows(self, region_ids: Iterable[int | None]) -> bool:
        return all(region_id is None or region_id in self.lineages for region_id in region_ids)

    def destination(self, state: str | None, line4: str | None, line2: str | None) -> int | None:
        """The deepest region of a delivery address (province → city → county by name), as
        the buyer typed it (exact name, or the one name starting with it), remembered per address text."""
        key = (state or "", line4 or "", line2 or "")
        if key in self._addresses:
            return self._addresses[key]
        if len(self._addresses) >= ADDRESS_MEMO_MAX:
            self._addresses.clear()
        found: int | None = None
        province = region_match(typed=key[0], candidates=self.provinces)
        if province is not None:
            found = province.pk
            city = region_match(typed=key[1], candidates=self.children.get((province.pk, 2), []))
            if city is not None:
                found = city.pk
                county = region_match(typed=key[2], candidates=self.children.get((city.pk, 3), []))
                if county is not None:
                    found = county.pk
        self._addresses[key] = found
        return found


def _partners_read() -> list[PartnerRow]:
    return list(
        LogisticsPartner.objects.order_by("code").values_list(
            "pk", "code", "kind", "active", "cold_chain", "max_parcel_weight_g", "daily_capacity"
        )
    )


def _build(token: str | None, partner_ids: frozenset[int]) -> RoutingIndex:
    areas: dict[int, set[int]] = {}
    for partner_id, region_id in ServiceArea.objects.values_list("partner_id", "region_id"):
        areas.setdefault(partner_id, set()).add(region_id)
    zones: dict[int, dict[int, PriceEntry]] = {}
    catch_all: dict[int, PriceEntry] = {}
    for partner_id, zone_id, first_kg, extra_kg, days in PriceRule.objects.order_by("pk").values_list(
        "partner_id", "zone_id", "first_kg", "extra_kg", "promised_days"
    ):
        entry = PriceEntry(first_kg, extra_kg, days)
        if zone_id is None:
            catch_all.setdefault(partner_id, entry)
        else:
            zones.setdefault(partner_id, {})[zone_id] = entry

    parents: dict[int, int | None] = {}
    provinces: list[Region] = []
    children: dict[tuple[int, int], list[Region]] = {}
    rows = Region.objects.order_by("code", "name").values_list("pk", "parent_id", "level", "name", "code")
    for pk, parent_id, level, name, code in rows:
        parents[pk] = parent_id
        if level <= Region.Level.COUNTY:  # only these are matched by name (region_match takes Regions)
            region = Region(pk=pk, parent_id=parent_id, level=level, name=name, code=code)
            if parent_id is None and level == Region.Level.PROVINCE:
                provinces.append(region)
            elif parent_id is not None:
                children.setdefault((parent_id, level), []).append(region)
    lineages: dict[int, tuple[int, ...]] = {}
    for pk in parents:
        chain: list[int] = []
        current: int | None = pk
        while current is not None and current not in lineages and len(chain) <= len(parents):
            chain.append(current)
            current = parents.get(current)
        tail = lineages.get(current, ()) if current is not None else ()
        for n, region_id in enumerate(chain):
            lineages[region_id] = (*chain[n:], *tail)
    return RoutingIndex(
        token=token,
        built_at=time.monotonic(),
        areas={pk: frozenset(regions) for pk, regions in areas.items()},
        zones=zones,
        catch_all=catch_all,
        partner_ids=partner_ids,
        lineages=lineages,
        provinces=provinces,
        children=children,
    )


_current: RoutingIndex | None = None
_building = threading.Lock()


def _version() -> str | None:
    token = cache.get(VERSION_KEY)
    if token is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(VERSION_KEY)
    return token if isinstance(token, str) else None


def _bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def routing_index_invalidate() -> None:
    """Partners, service areas, price rules or regions changed: every process rebuilds its index before
    routing again. Call it in the transaction that writes them (it bumps now and after the commit)."""
    _bump()
    transaction.on_commit(_bump)


def _fresh(
    current: RoutingIndex | None, token: str | None, partner_ids: frozenset[int], regions: list[int | None]
) -> bool:
    return (
        current is not None
        and token is not None
        and current.token == token
        and time.monotonic() - current.built_at < MAX_AGE_SECONDS
        and partner_ids <= current.partner_ids
        and current.knows(regions)
    )


def routing_index(*, regions: Iterable[int | None] = ()) -> RoutingIndex:
    """The index for routing now: this process's, rebuilt if its version changed, if it is too old, or if
    it does not know one of the partners or of ``regions`` (the places about to be routed from); joined to
    the partners as they are now (one query)."""
    global _current  # noqa: PLW0603  (one index per process, swapped whole)
    token = _version()
    rows = _partners_read()
    partner_ids = frozenset(row[0] for row in rows)
    wanted = list(regions)
    current = _current
    if current is None or not _fresh(current, token, partner_ids, wanted):
        with _building:
            current = _current
            if current is None or not _fresh(current, token, partner_ids, wanted):  # or another thread did
                current = _build(token, partner_ids)
                _current = current
    return current.with_partners(rows)
