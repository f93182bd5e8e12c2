"""Member-level use cases: the versioned ladder, and the periodic re-evaluation of every account."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.observability import logger
from loyalty.points import service, tiers
from loyalty.points.ledger import Account, Change
from loyalty.points.storage import PointsStore
from loyalty.points.tiers import TierLadder

SCAN_SEGMENTS = 4


def save_ladder(store: PointsStore, ladder: TierLadder, operator: str, now: datetime) -> dict[str, Any]:
    current = store.ladder()
    version = current[1] + 1 if current else 1
    store.save_ladder(ladder, version, operator, iso_utc(now))
    service.forget_cached_config()
    return ladder_view(ladder, version, operator, iso_utc(now))


def current_view(store: PointsStore) -> dict[str, Any]:
    """The ladder in force, read past the accrual's cache; 404 TIERS_NOT_SET before the first."""
    found = store.ladder()
    if found is None:
        raise NotFound("no member levels are set yet", code="TIERS_NOT_SET")
    ladder, version, record = found
    return ladder_view(ladder, version, record["updatedBy"], record["updatedAt"])


def ladder_view(ladder: TierLadder, version: int, updated_by: str, updated_at: str) -> dict[str, Any]:
    return {**ladder.model_dump(mode="json"), "version": version, "updatedBy": updated_by, "updatedAt": updated_at}


def reevaluate_all(store: PointsStore, now: datetime) -> dict[str, int]:
    """Every account with a balance, in parallel scan segments. Safe to run again: a downgrade is
    due once, benefits go out once a month, and each account is one conditioned transaction."""
    found = store.ladder()
    if found is None:
        return {"accounts": 0, "changed": 0}
    ladder = found[0]
    today, at = business_date(now, get_settings().bank_zone), iso_utc(now)

    def one_segment(segment: int) -> tuple[int, int]:
        accounts = changed = 0
        for customer_id in store.balance_customers(segment, SCAN_SEGMENTS):
            accounts += 1

            def decide(account: Account, caps: dict[str, int]) -> service.Decision | None:
                if account.erased:
                    return None  # erased (loyalty.privacy): no more levels, benefits or TierChanged
                change = Change(today=today.isoformat())
                return change, [], tiers.reevaluate(ladder, account, change, today, at)

            try:
                if service.with_retries(store, customer_id, decide, now):
                    changed += 1
            except Conflict:
                logger.warning("a busy account was not re-evaluated; the next run does it", extra={"customer_id": customer_id})
        return accounts, changed

    with ThreadPoolExecutor(max_workers=SCAN_SEGMENTS) as pool:
        results = list(pool.map(one_segment, range(SCAN_SEGMENTS)))
    return {"accounts": sum(a for a, _ in results), "changed": sum(c for _, c in results)}
