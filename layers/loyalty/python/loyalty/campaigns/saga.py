"""A grant as a saga, pure: the states of a grant and of each of its actions, and where each answer
from the coupons or points capability moves them. No AWS here: `outcomes` reads the grant, asks
`advance`, and writes the step conditioned on the grant's version (docs/campaigns.md, "A grant is a
saga").

A grant with several actions is all or nothing. The grant transaction sends every action's command
(`IssueCoupon`, `AwardPoints`); each is answered (`CouponIssued` / `PointsAwarded`: delivered;
`CouponIssueFailed`: refused; a coupon returned later, its order refunded, is back in the wallet and
still delivered). Once every action is delivered the grant is
`delivered` and its notification goes. The first refusal makes it `compensating`: every other action
not refused is sent its compensation (`RevokeCoupon`, `ReversePoints`), whether delivered yet or not —
a compensation that arrives first forestalls the delivery for good — and each compensation is
answered (taken back: `compensated`; never delivered: `prevented`; not compensable, e.g. a coupon
already redeemed: `kept`). When none is outstanding the grant settles: `cancelled` if nothing had
been delivered, `compensated` if everything delivered was taken back, `partly_delivered` if something
stayed with the customer. The budget gets back the cost of everything but what was kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

GrantStatus = Literal["granted", "delivered", "compensating", "compensated", "partly_delivered", "cancelled"]
ActionKind = Literal["coupon", "points"]
ActionState = Literal["pending", "delivered", "refused", "compensating", "compensated", "prevented", "kept"]
Answer = Literal["delivered", "refused", "compensated", "prevented", "kept"]

STANDING: tuple[GrantStatus, ...] = ("granted", "delivered")  # counted as `granted` in the report
SETTLED: tuple[GrantStatus, ...] = ("compensated", "partly_delivered", "cancelled")
# The arm counter each status is counted in (the report's field).
COUNTER: dict[GrantStatus, str] = {"granted": "granted", "delivered": "granted", "compensating": "compensating",
                                   "compensated": "compensated", "partly_delivered": "partlyDelivered", "cancelled": "cancelled"}

# Where an answer moves an action; an answer not listed for the action's state changes nothing (a
# redelivery, or an answer overtaken by another: a delivery the compensation will answer for).
_MOVES: dict[ActionState, dict[Answer, ActionState]] = {
    "pending": {"delivered": "delivered", "refused": "refused"},
    "compensating": {"refused": "refused", "compensated": "compensated", "prevented": "prevented", "kept": "kept"},
}


@dataclass(frozen=True)
class Action:
    """One reward of the grant, as far as the saga knows it."""

    command_id: str
    kind: ActionKind
    cost: int  # its share of the grant's cost, in the budget's unit (reward units: the whole grant's)
    state: ActionState = "pending"
    reason: str | None = None  # why it was refused or kept


@dataclass(frozen=True)
class Saga:
    status: GrantStatus
    cost: int
    actions: tuple[Action, ...]

    def action(self, command_id: str) -> Action | None:
        return next((a for a in self.actions if a.command_id == command_id), None)


@dataclass(frozen=True)
class Step:
    """What one answer does: the saga after it, and the effects the write carries with it."""

    saga: Saga
    compensate: tuple[Action, ...] = ()  # the actions whose compensation is sent now
    notify: bool = False  # every action delivered: the grant's notification goes now
    give_back: int = 0  # cost returned to every budget period the grant took it from
    kept: int = 0  # cost that stays spent: rewards the customer keeps
    stats: dict[str, int] = field(default_factory=dict)  # the arm's counters: moves between states, cost

    @property
    def settled(self) -> bool:
        return self.saga.status in SETTLED


def start(actions: Sequence[Action], cost: int) -> Saga:
    """A new grant: `granted` while its actions are on their way; `delivered` at once if it has none
    to wait for (a notification only)."""
    return Saga("granted" if actions else "delivered", cost, tuple(actions))


def advance(saga: Saga, command_id: str, answer: Answer, reason: str | None = None) -> Step | None:
    """The step an answer to one of the grant's commands makes; None when it changes nothing."""
    index = next((i for i, a in enumerate(saga.actions) if a.command_id == command_id), None)
    if index is None:
        return None
    action = saga.actions[index]
    moved = _MOVES.get(action.state, {}).get(answer)
    if moved is None:
        return None
    actions = list(saga.actions)
    actions[index] = replace(action, state=moved, reason=reason if answer in ("refused", "kept") else action.reason)
    status, stats = saga.status, {}
    compensate: list[Action] = []
    if moved == "refused" and status in STANDING:
        status, stats = "compensating", _moved_from(status, "compensating")
        for i, other in enumerate(actions):
            if other.state in ("pending", "delivered"):
                actions[i] = replace(other, state="compensating")
                compensate.append(actions[i])
    after = Saga(status, saga.cost, tuple(actions))
    if status == "granted" and all(a.state == "delivered" for a in actions):
        return Step(replace(after, status="delivered"), notify=True)
    if status == "compensating" and not any(a.state in ("pending", "compensating") for a in actions):
        return _settle(after, tuple(compensate), stats)
    return Step(after, tuple(compensate), stats=stats)


def _settle(saga: Saga, compensate: tuple[Action, ...], stats: dict[str, int]) -> Step:
    states = {a.state for a in saga.actions}
    final: GrantStatus = "partly_delivered" if "kept" in states else "compensated" if "compensated" in states else "cancelled"
    kept = min(saga.cost, sum(a.cost for a in saga.actions if a.state == "kept"))
    give_back = saga.cost - kept
    moved = _sum(stats, _moved_from("compensating", final), {"cost": -give_back})
    return Step(replace(saga, status=final), compensate, give_back=give_back, kept=kept, stats=moved)


def _moved_from(before: GrantStatus, after: GrantStatus) -> dict[str, int]:
    return _sum({COUNTER[before]: -1}, {COUNTER[after]: 1})


def _sum(*deltas: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for delta in deltas:
        for name, n in delta.items():
            total[name] = total.get(name, 0) + n
    return {name: n for name, n in total.items() if n}


# ---- as the grant record stores it ---------------------------------------------------------------------


def to_record(saga: Saga) -> dict[str, Any]:
    """The grant record's `status` and `actions` (plain values)."""
    return {"status": saga.status, "actions": [_action_record(a) for a in saga.actions]}


def _action_record(action: Action) -> dict[str, Any]:
    record = {"commandId": action.command_id, "kind": action.kind, "cost": action.cost, "state": action.state, "reason": action.reason}
    return {k: v for k, v in record.items() if v is not None}


def from_record(grant: Mapping[str, Any], command_id: str) -> Saga:
    """The saga of a stored grant. A grant written before grants were sagas lists no actions: it is
    read as one coupon action, the command answered (as it was then cancelled on a refusal)."""
    status, cost = grant["status"], int(grant.get("cost", 0))
    if "actions" not in grant:
        legacy: ActionState = "pending" if status == "granted" else "refused"
        return Saga(status, cost, (Action(command_id, "coupon", cost, legacy),))
    actions = tuple(Action(str(a["commandId"]), a["kind"], int(a.get("cost", 0)), a["state"], a.get("reason")) for a in grant["actions"])
    return Saga(status, cost, actions)
