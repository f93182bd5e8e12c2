"""The league table's counters in the `org` table (docs/org-units.md, "Branch league table").

  KPI#<unit>         / P#<period>       KpiItem: the unit's counters for a month (`2026-11`) or a quarter
                                        (`2026-Q4`), its subtree's customers included; TTL expiresAt
                                        (`kpis.RETENTION_MONTHS` after the period ends)
  KPIM#<customer>    / NEW | ACTIVE#<period> | AUM#<month>
                                        KpiMarkItem: the customer was counted (new once ever; active once a
                                        period; their AUM once a month); TTL as the period's counters
  KPIE#<occurrence>  / E                KpiMarkItem: a source event counted (grants, coupons); TTL
                                        `kpis.EVENT_MARKER_DAYS`

`apply` reads the markers an event needs, then writes, in ONE transaction, each marker not there yet
(`attribute_not_exists`) with the increments of the counters of every unit on the customer's path:
a redelivered event, or a customer's second activity of the month, adds nothing. A marker written
meanwhile refuses the transaction; it is read and decided again. A card spend adds to the uplift's
spend counters only when the customer's TREATED (or CONTROL) marker of the period is already there:
spend the consumer sees after the customer's grant (or hold-out) in the period.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from loyalty.core.tables import batch_get_raw
from loyalty.core.transactions import Refused, Transaction
from loyalty.org import kpis
from loyalty.org.items import OrgItem
from loyalty.org.kpis import Contribution, Counters

ATTEMPTS = 5


def kpi_pk(unit_id: str) -> str:
    return f"KPI#{unit_id}"


def kpi_sk(period: str) -> str:
    return f"P#{period}"


def mark_pk(customer_id: str) -> str:
    return f"KPIM#{customer_id}"


def event_pk(occurrence: str) -> str:
    return f"KPIE#{occurrence}"


class KpiItem(OrgItem):
    unitId = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)
    newCustomers = NumberAttribute(null=True)
    activeCustomers = NumberAttribute(null=True)
    aumMinor = NumberAttribute(null=True)
    aumCustomers = NumberAttribute(null=True)
    grants = NumberAttribute(null=True)
    controlGrants = NumberAttribute(null=True)
    grantCostMinor = NumberAttribute(null=True)
    grantCostRewards = NumberAttribute(null=True)
    couponsIssued = NumberAttribute(null=True)
    couponsRedeemed = NumberAttribute(null=True)
    treatedCustomers = NumberAttribute(null=True)
    controlCustomers = NumberAttribute(null=True)
    treatedSpendMinor = NumberAttribute(null=True)
    controlSpendMinor = NumberAttribute(null=True)
    expiresAt = NumberAttribute(null=True)


class KpiMarkItem(OrgItem):
    expiresAt = NumberAttribute(null=True)


class KpiStore(Protocol):
    def apply(self, path: Sequence[str], customer_id: str, occurrence: str, found: Sequence[Contribution], now: datetime) -> int:
        """Adds what is not counted yet to the counters of every unit of `path`; the number of items
        written (0: it was all counted already)."""

    def counters(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Counters]:
        """The counters of each (unit, period), read consistently; zero where none was ever added."""


class DynamoKpiStore:
    def apply(self, path: Sequence[str], customer_id: str, occurrence: str, found: Sequence[Contribution], now: datetime) -> int:
        if not found:
            return 0
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.01, 0.03) * 2**attempt)  # a hot counter (the head office's): let the other land
            markers = sorted({c.distinct for c in found if c.distinct} | {c.requires for c in found if c.requires})
            keys = [{"pk": mark_pk(customer_id), "sk": m} for m in markers]
            keys.append({"pk": event_pk(occurrence), "sk": "E"})
            there = {(str(item["pk"]["S"]), str(item["sk"]["S"])) for item in batch_get_raw(KpiMarkItem, keys)}
            # The event's own marker is written whenever it could count per event, counted now or not: a
            # spend seen before its customer's grant is not counted when it is delivered again after it.
            per_event = any(c.distinct is None for c in found)
            if per_event and (event_pk(occurrence), "E") in there:
                return 0
            # A spend counts for the uplift only once its customer was treated (or held out) in the period.
            counted = [c for c in found if c.requires is None or (mark_pk(customer_id), c.requires) in there]
            todo = [c for c in counted if c.distinct is None or (mark_pk(customer_id), c.distinct) not in there]
            if not todo and not per_event:
                return 0
            transaction = _transaction(path, customer_id, occurrence, todo, per_event, now)
            try:
                transaction.commit()
            except Refused as refused:
                if any(refused.failed(label) for label in refused.reasons) or refused.conflicted:
                    continue  # a marker written meanwhile, or a counter touched: read and decide again
                raise
            return len(transaction)
        raise RuntimeError(f"the counters of {occurrence} kept changing: the event is retried")

    def counters(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Counters]:
        unique = list(dict.fromkeys(keys))
        raw = batch_get_raw(KpiItem, [{"pk": kpi_pk(u), "sk": kpi_sk(p)} for u, p in unique]) if unique else []
        found = {(str(item["pk"]["S"]).removeprefix("KPI#"), str(item["sk"]["S"]).removeprefix("P#")):
                 Counters.of(KpiItem.from_raw_data(item).plain()) for item in raw}
        return {key: found.get(key, Counters()) for key in unique}


def _transaction(path: Sequence[str], customer_id: str, occurrence: str, todo: Sequence[Contribution], per_event: bool,
                 now: datetime) -> Transaction:
    transaction = Transaction()
    if per_event:
        transaction.put("event", KpiMarkItem(event_pk(occurrence), "E", expiresAt=kpis.event_marker_expires(now)),
                        KpiMarkItem.pk.does_not_exist())
    marked: dict[str, str] = {}
    for c in todo:
        if c.distinct:
            marked.setdefault(c.distinct, c.period)
    for marker, period in marked.items():
        transaction.put(f"mark:{marker}", KpiMarkItem(mark_pk(customer_id), marker, expiresAt=kpis.expires_at(period)),
                        KpiMarkItem.pk.does_not_exist())
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in todo:
        sums[c.period][c.counter] += c.amount
    for period, moved in sums.items():
        for unit_id in path:
            actions = [getattr(KpiItem, counter).add(amount) for counter, amount in moved.items()]
            actions += [KpiItem.unitId.set(unit_id), KpiItem.period.set(period), KpiItem.expiresAt.set(kpis.expires_at(period))]
            transaction.update(f"kpi:{unit_id}:{period}", KpiItem(kpi_pk(unit_id), kpi_sk(period)), actions)
    return transaction


def default_store() -> KpiStore:
    return DynamoKpiStore()
