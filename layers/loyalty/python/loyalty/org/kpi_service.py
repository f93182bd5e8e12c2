"""The branch league table (docs/org-units.md, "Branch league table"): the `org-kpis` consumer's
counting, and the read of a unit's children's KPIs, scoped like every org route."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from loyalty.core.auth import Caller
from loyalty.core.config import get_settings
from loyalty.core.observability import logger
from loyalty.org import kpis, service
from loyalty.org.kpi_store import KpiStore
from loyalty.org.kpis import UNASSIGNED, Counters, Row
from loyalty.org.model import OrgUnit
from loyalty.org.ports import OrgUnits
from loyalty.org.store import OrgStore

MAX_CHILDREN = 1000


def head_office() -> str | None:
    from loyalty.core import config_cache
    from loyalty.org.items import RootItem

    def read() -> str | None:
        try:
            return str(RootItem.get("ROOT", "ROOT", consistent_read=True).unitId)
        except RootItem.DoesNotExist:
            return None

    root = config_cache.cached(("org", "root"), get_settings().org_cache_seconds, read)
    if root is None:
        # Not remembered: a head office created a moment later must count the very next event.
        config_cache.forget(("org", "root"))
    return root


def _branch_of(detail_type: str, detail: BaseModel) -> str | None:
    """The customer's core-banking branch: the profile event's own, else the stored profile's."""
    if isinstance(detail, kpis.ProfileChanged):
        return detail.branchId
    from loyalty.customers.ports import directory

    found = directory().profile(str(getattr(detail, "customerId")))  # noqa: B009
    return None if found is None else found.branchId


def path_of(units: OrgUnits, branch_id: str | None) -> tuple[str, ...] | None:
    """The units the customer counts under: their branch's unit and every unit above it; the head
    office and its `~unassigned` bucket when the branch maps to none; None without a head office."""
    unit_id = units.unit_for_branch(branch_id) if branch_id else None
    unit = units.get(unit_id) if unit_id else None
    if unit is not None:
        return unit.path
    root = head_office()
    return None if root is None else (root, UNASSIGNED)


def ingest(store: KpiStore, units: OrgUnits, detail_type: str, detail: BaseModel, occurrence: str, now: datetime) -> int:
    """The event's contributions added to its customer's units' counters; the items written."""
    settings = get_settings()
    found = kpis.contributions(detail_type, detail, settings.bank_zone, settings.org_kpi_currency, now)
    if not found:
        return 0
    path = path_of(units, _branch_of(detail_type, detail))
    if path is None:
        logger.warning("no head office yet: the event is not counted", extra={"occurrence": occurrence})
        return 0
    return store.apply(path, str(getattr(detail, "customerId")), occurrence, found, now)  # noqa: B009


@dataclass(frozen=True)
class League:
    unit: OrgUnit
    period: str
    aum_months: tuple[str, str]
    total: Row
    rows: list[tuple[int, Row, OrgUnit | None]]  # (rank, row, the child unit; None for the unassigned bucket)


def league(org: OrgStore, store: KpiStore, caller: Caller, unit_id: str, period: str, rank_by: str) -> League:
    """The period's KPIs of each unit right under `unit_id` (and of the unit itself, as the total): one
    BatchGet of (children + 1) × 2 items for a month, × 3 for a quarter. A unit outside the caller's subtree is 404."""
    unit = service.visible(org, service.scope_of(org, caller), unit_id)
    children = {child.unitId: child for child in org.children(unit_id, MAX_CHILDREN)}
    ids: list[str] = [*sorted(children), *([UNASSIGNED] if unit.parentId is None else [])]
    end, base = kpis.aum_months(period)
    counted = store.counters([(u, p) for u in (unit_id, *ids) for p in dict.fromkeys((period, end, base))])

    def row_of(u: str) -> Row:
        return kpis.row(u, counted.get((u, period), Counters()), counted.get((u, end), Counters()), counted.get((u, base), Counters()))

    rows = [row_of(u) for u in ids]
    return League(unit, period, (end, base), row_of(unit_id),
                  [(rank, found, children.get(found.unitId)) for rank, found in kpis.ranked(rows, rank_by)])
