"""Budget pools: allocation down the tree, reallocation, roll-up (`loyalty.org.pools` over a store in
memory with the real one's conditions), and campaigns drawing from their unit's pool (the campaigns
store in memory, the org ports faked)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import pytest

from loyalty.campaigns import granting, service
from loyalty.campaigns.model import CampaignDefinition, Transition
from loyalty.core import config_cache, pacing
from loyalty.core.auth import Caller
from loyalty.core.errors import BusinessRuleViolation, Conflict, DomainError, Forbidden, NotFound
from loyalty.org import pools
from loyalty.org.model import OrgUnit
from loyalty.org.pools import Pool, Stale
from loyalty.org.ports import InMemoryOrgUnits
from tests.unit.campaigns_fakes import InMemoryCampaignStore, InMemoryDirectory
from tests.unit.org_fakes import InMemoryOrgStore

AT = "2027-02-10T04:00:00Z"
NOW = datetime(2027, 2, 10, 4, 0, tzinfo=UTC)
HQ = Caller("op-hq", frozenset({"operators"}), "hq")
HQ_APPROVER = Caller("ap-hq", frozenset({"operators", "approvers"}), "hq")


class InMemoryPoolStore:
    """The pools in memory, refusing as `DynamoPoolStore` refuses: on the giver's terms as read and its
    room, and on the receiver still an open child of the parent. `before_move` runs once, just before
    the next move lands (a concurrent change)."""

    def __init__(self, units: InMemoryOrgStore) -> None:
        self.units = units
        self.by_key: dict[tuple[str, str, str], Pool] = {}
        self.before_move: Callable[[], None] | None = None

    def pool(self, unit_id: str, period: str, measure: str) -> Pool | None:
        return self.by_key.get((unit_id, period, measure))

    def pools_of(self, unit_ids: Sequence[str], period: str, measure: str) -> dict[str, Pool]:
        return {u: self.by_key[(u, period, measure)] for u in unit_ids if (u, period, measure) in self.by_key}

    def unit_pools(self, unit_id: str) -> list[Pool]:
        return [p for (u, _, _), p in self.by_key.items() if u == unit_id]

    def create(self, pool: Pool) -> None:
        key = (pool.unitId, pool.period, pool.measure)
        if key in self.by_key:
            raise Conflict("exists", code="POOL_EXISTS")
        self.by_key[key] = dataclasses.replace(pool, terms=1)

    def move(self, giver: Pool, gives: Literal["onward", "allocation"], to_unit: str, to_parent: str, amount: int,
             plan: pacing.Plan | None, by: str, at: str) -> None:
        if self.before_move is not None:
            hook, self.before_move = self.before_move, None
            hook()
        now = self.by_key[(giver.unitId, giver.period, giver.measure)]
        receiver = self.units.unit(to_unit)
        if now.terms != giver.terms or now.spent > giver.own - amount or receiver is None or receiver.parentId != to_parent \
                or not receiver.is_open:
            raise Stale()
        onward, allocation = (now.onward + amount, now.allocation) if gives == "onward" else (now.onward, now.allocation - amount)
        self.by_key[(giver.unitId, giver.period, giver.measure)] = dataclasses.replace(now, onward=onward, allocation=allocation,
                                                                                       terms=now.terms + 1)
        key = (to_unit, giver.period, giver.measure)
        taking = self.by_key.get(key, Pool(to_unit, giver.period, giver.measure))
        self.by_key[key] = dataclasses.replace(taking, allocation=taking.allocation + amount, terms=taking.terms + 1,
                                               plan=plan or taking.plan)


def unit(unit_id: str, kind: str, parent: OrgUnit | None = None, **changes: Any) -> OrgUnit:
    path = (*parent.path, unit_id) if parent else (unit_id,)
    return dataclasses.replace(OrgUnit(unit_id, kind, unit_id, parent.unitId if parent else None, path), **changes)


@pytest.fixture
def tree() -> InMemoryOrgStore:
    store = InMemoryOrgStore()
    hq = unit("hq", "head_office")
    bj, sh = unit("bj", "branch", hq), unit("sh", "branch", hq)
    for u in (hq, bj, sh, unit("hd", "sub_branch", bj), unit("old", "sub_branch", bj, status="closed")):
        store.units_by_id[u.unitId] = u
    return store


@pytest.fixture
def store(tree: InMemoryOrgStore, monkeypatch: pytest.MonkeyPatch) -> InMemoryPoolStore:
    monkeypatch.setattr(pools, "_pause", lambda seconds: None)
    found = InMemoryPoolStore(tree)
    pools.create_root(tree, found, HQ, "hq", "2027", "rewards", 1000, None, AT)
    return found


def op(unit_id: str, *groups: str) -> Caller:
    return Caller(f"op-{unit_id}", frozenset({"operators", *groups}), unit_id)


def code(raised: pytest.ExceptionInfo[DomainError]) -> str:
    return raised.value.code


def test_only_the_head_office_creates_a_pool_from_nothing_once(tree: InMemoryOrgStore, store: InMemoryPoolStore) -> None:
    with pytest.raises(Forbidden) as raised:
        pools.create_root(tree, store, op("bj"), "bj", "2027", "rewards", 5, None, AT)
    assert code(raised) == "ORG_HEAD_OFFICE_REQUIRED"
    with pytest.raises(Conflict) as conflict:
        pools.create_root(tree, store, HQ, "hq", "2027", "rewards", 5, None, AT)
    assert code(conflict) == "POOL_EXISTS"
    with pytest.raises(BusinessRuleViolation) as bad_plan:
        pools.create_root(tree, store, HQ, "hq", "2027-Q1", "CNY", 5, pacing.Plan("month", "custom", (1,)), AT)
    assert code(bad_plan) == "POOL_PLAN_INVALID"


def test_allocation_goes_down_only_to_an_open_child_and_only_what_is_left(tree: InMemoryOrgStore, store: InMemoryPoolStore) -> None:
    giver, receiver = pools.allocate(tree, store, HQ, "hq", "bj", "2027", "rewards", 600, None, AT)
    assert (giver.onward, giver.left, receiver.allocation) == (600, 400, 600)
    pools.allocate(tree, store, op("bj"), "bj", "hd", "2027", "rewards", 250, pacing.Plan("month", "even"), AT)
    assert store.pool("hd", "2027", "rewards") == Pool("hd", "2027", "rewards", 250, terms=1, plan=pacing.Plan("month", "even"))
    refusals = [
        (lambda: pools.allocate(tree, store, HQ, "hq", "sh", "2027", "rewards", 401, None, AT), "POOL_INSUFFICIENT"),
        (lambda: pools.allocate(tree, store, HQ, "hq", "hd", "2027", "rewards", 1, None, AT), "ORG_UNIT_NOT_FOUND"),  # not right under
        (lambda: pools.allocate(tree, store, op("bj"), "bj", "old", "2027", "rewards", 1, None, AT), "ORG_UNIT_CLOSED"),
        (lambda: pools.allocate(tree, store, op("sh"), "bj", "hd", "2027", "rewards", 1, None, AT), "ORG_UNIT_NOT_FOUND"),  # outside
        (lambda: pools.allocate(tree, store, HQ, "hq", "sh", "2027", "CNY", 1, None, AT), "POOL_NOT_FOUND"),
    ]
    before = dict(store.by_key)
    for attempt, expected in refusals:
        with pytest.raises(DomainError) as raised:
            attempt()
        assert code(raised) == expected
    assert store.by_key == before


def test_an_allocation_racing_another_is_decided_again_on_what_is_left(tree: InMemoryOrgStore, store: InMemoryPoolStore) -> None:
    # Given another allocation lands between the read and the write of this one
    def meanwhile() -> None:
        pools.allocate(tree, store, HQ, "hq", "sh", "2027", "rewards", 700, None, AT)

    store.before_move = meanwhile
    # Then this one is decided again, on the 300 left, and refused
    with pytest.raises(BusinessRuleViolation) as raised:
        pools.allocate(tree, store, HQ, "hq", "bj", "2027", "rewards", 400, None, AT)
    assert code(raised) == "POOL_INSUFFICIENT" and store.pool("hq", "2027", "rewards").onward == 700  # type: ignore[union-attr]


def test_reallocation_between_siblings_needs_an_approver_at_their_parent(tree: InMemoryOrgStore, store: InMemoryPoolStore) -> None:
    pools.allocate(tree, store, HQ, "hq", "bj", "2027", "rewards", 100, None, AT)
    with pytest.raises(Forbidden) as not_approver:
        pools.reallocate(tree, store, HQ, "hq", "bj", "sh", "2027", "rewards", 10, AT)
    assert code(not_approver) == "APPROVER_REQUIRED"
    with pytest.raises(NotFound):
        pools.reallocate(tree, store, op("bj", "approvers"), "hq", "bj", "sh", "2027", "rewards", 10, AT)
    giver, receiver = pools.reallocate(tree, store, HQ_APPROVER, "hq", "bj", "sh", "2027", "rewards", 30, AT)
    assert (giver.allocation, receiver.allocation, store.pool("hq", "2027", "rewards").onward) == (70, 30, 100)  # type: ignore[union-attr]
    with pytest.raises(BusinessRuleViolation) as insufficient:
        pools.reallocate(tree, store, HQ_APPROVER, "hq", "bj", "sh", "2027", "rewards", 71, AT)
    assert code(insufficient) == "POOL_INSUFFICIENT"


def test_the_rollup_shows_every_node_with_its_subtrees_spend(tree: InMemoryOrgStore, store: InMemoryPoolStore) -> None:
    pools.allocate(tree, store, HQ, "hq", "bj", "2027", "rewards", 600, None, AT)
    pools.allocate(tree, store, op("bj"), "bj", "hd", "2027", "rewards", 200, None, AT)
    store.by_key[("hd", "2027", "rewards")] = dataclasses.replace(store.by_key[("hd", "2027", "rewards")], spent=50)
    store.by_key[("bj", "2027", "rewards")] = dataclasses.replace(store.by_key[("bj", "2027", "rewards")], spent=20)
    top, rows = pools.rollup(tree, store, op("bj"), "bj", "2027", "rewards", lambda units, measure, first, last: {"hd": 120})
    by_unit = {r.unit.unitId: r for r in rows}
    assert top.left == 380 and set(by_unit) == {"bj", "hd", "old"}
    assert (by_unit["bj"].subtreeSpent, by_unit["hd"].subtreeSpent, by_unit["hd"].committed, by_unit["old"].pool) == (70, 50, 120, None)


# ---- campaigns drawing from their unit's pool --------------------------------------------------------


class FakePools:
    def __init__(self, measures: dict[str, set[str]]) -> None:
        self.by_unit = measures

    def measures(self, unit_id: str, first: date, last: date) -> set[str]:
        return self.by_unit.get(unit_id, set())


@pytest.fixture
def campaigns(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryCampaignStore]:
    directory = InMemoryDirectory()
    monkeypatch.setattr("loyalty.customers.ports.directory", lambda: directory)
    monkeypatch.setattr(granting.time, "sleep", lambda _: None)
    org_units = InMemoryOrgUnits.of(("hq", None, "head_office"), ("bj", "hq", "branch"))
    org_units._units["gone"] = OrgUnit("gone", "branch", "gone", "hq", ("hq", "gone"), status="closed")
    monkeypatch.setattr("loyalty.org.ports.units", lambda: org_units)
    monkeypatch.setattr("loyalty.org.ports.pools", lambda: FakePools({"bj": {"rewards"}, "gone": {"rewards"}}))
    config_cache.clear()
    yield InMemoryCampaignStore(directory)
    config_cache.clear()


def definition(**overrides: Any) -> CampaignDefinition:
    return CampaignDefinition.model_validate({
        "campaignId": "camp-1", "name": "Spend, get a coupon",
        "window": {"startsAt": "2027-01-01T00:00:00+08:00", "endsAt": "2027-04-01T00:00:00+08:00"},
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 100_000, "mccs": ["5812"]},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [{"type": "issue_coupon", "templateId": "tpl-1", "costMinor": 500}]}],
        "budget": {"unit": "rewards", "total": 10}, "fundingCostCentre": "cc-marketing", "orgUnitId": "bj", **overrides})


def launch(store: InMemoryCampaignStore, campaign: CampaignDefinition) -> dict[str, Any]:
    service.save(store, campaign, "op-maker", NOW, create=True)
    service.transition(store, campaign.campaignId, "submit", Transition(), Caller("op-maker", frozenset({"operators"})), NOW)
    service.transition(store, campaign.campaignId, "approve", Transition(), Caller("op-checker", frozenset({"operators", "approvers"})), NOW)
    return store.get(campaign.campaignId)


def test_a_campaigns_org_unit_is_open_and_holds_a_pool_in_its_budgets_measure(campaigns: InMemoryCampaignStore) -> None:
    for overrides, expected in (({"orgUnitId": "nowhere"}, "CAMPAIGN_ORG_UNIT_INVALID"), ({"orgUnitId": "gone"}, "CAMPAIGN_ORG_UNIT_INVALID"),
                                ({"budget": {"unit": "minor", "currency": "CNY", "total": 10_000}}, "CAMPAIGN_POOL_MISMATCH")):
        with pytest.raises(BusinessRuleViolation) as raised:
            service.save(campaigns, definition(**overrides), "op-maker", NOW, create=True)
        assert code(raised) == expected
    assert not campaigns.items
    assert service.save(campaigns, definition(), "op-maker", NOW, create=True)["version"] == 1
    assert definition(orgUnitId=None).orgUnitId is None  # no unit: no pool, as before


def test_a_grant_draws_from_its_units_pool_and_is_refused_without_room_or_ahead_of_the_plan(campaigns: InMemoryCampaignStore) -> None:
    meta = launch(campaigns, definition())
    campaigns.pool_room["bj"] = 2
    outcomes = [granting.grant(campaigns, meta, f"c-{n}", "tx-1", NOW) for n in range(3)]
    assert outcomes == ["granted", "granted", "pool_exhausted"]
    assert campaigns.get("camp-1")["status"] == "approved"  # a pool refusal never pauses the campaign: the pool may be given more
    assert campaigns.budget("camp-1", "TOTAL")["spent"] == 2  # type: ignore[index]
    (grant,) = [i for i in campaigns.items.values() if i.get("customerId") == "c-0" and "poolKey" in i]
    assert grant["poolKey"] == "bj/2027/rewards"
    campaigns.pool_room["bj"], campaigns.paced_out = 5, {"bj"}
    assert granting.grant(campaigns, meta, "c-9", "tx-1", NOW) == "pool_pacing"
