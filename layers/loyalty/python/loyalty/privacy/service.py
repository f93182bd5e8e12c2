"""PIPL rights over one customer's data: export everything the engine holds, or erase it.

Each capability owns its part, behind its port (`loyalty.<capability>.ports`): this module only
orders the calls and assembles the answer, and reads no table itself.

**Export** gathers, read-only: the profile, the points account (balance, lots, every ledger entry,
the redemptions and the risk holds, decided or not), the wallet, what campaigns hold (grants, task
and check-in progress, invite code and referrals, uploaded audiences, counters), the scoring state,
the device and phone identities scoring recorded (keyed hashes: the engine never holds them as
received), MOT's tasks about them (with the relationship manager's notes), held-out moments and
manager, and the operator actions on their profile from the audit log.

**Erase** anonymises without breaking the books:
- the profile becomes a tombstone no later profile event can overwrite. It goes first: from then on
  no capability acts on the customer again (each checks it in its own transaction), so nothing
  re-creates what the steps below delete;
- scoring deletes the state, memberships and index entries (personal data derived from behaviour);
- campaigns delete their records of the customer's behaviour and relations;
- MOT empties the customer's tasks of what they said (talking points, message, the RM's note),
  closes the open ones, and deletes the held-out moments, the manager and the book entry;
- points mark the account erased (its version moved, so an accrual racing the erasure is decided
  again): nothing more is earned;
- the points ledger, coupons and campaign grants stay: they hold the customer id (a pseudonym once
  the profile is gone) and amounts, and the liability and budget totals must stay correct.
Every step can run again, so an erasure that failed halfway is finished by running it again (the
route's replay does exactly that for a retry of one that died after its first write). Both
rights are in the audit log (every `/v1/admin` call is), without their bodies: the log is
append-only, and an export's or an erasure's content there would outlive the erasure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loyalty.core.clock import iso_utc
from loyalty.core.errors import NotFound

if TYPE_CHECKING:
    from loyalty.campaigns.ports import CampaignsPort
    from loyalty.coupons.ports import CouponsPrivacy
    from loyalty.customers.ports import CustomersPrivacy
    from loyalty.mot.ports import MotPrivacy
    from loyalty.points.ports import PointsPrivacy
    from loyalty.scoring.ports import ScoringPrivacy

KEPT = ["points ledger and balance", "coupons", "campaign grants and budget counters", "audit log"]


@dataclass(frozen=True)
class Holders:
    """Every capability that holds data on a customer, by its port."""

    customers: CustomersPrivacy
    points: PointsPrivacy
    coupons: CouponsPrivacy
    campaigns: CampaignsPort
    scoring: ScoringPrivacy
    mot: MotPrivacy
    operator_actions: Callable[[str], list[dict[str, Any]]]  # customer id: the audit log's entries about them


def default_holders() -> Holders:
    from loyalty.campaigns import ports as campaigns
    from loyalty.core import audit
    from loyalty.coupons import ports as coupons
    from loyalty.customers import ports as customers
    from loyalty.mot import ports as mot
    from loyalty.points import ports as points
    from loyalty.scoring import ports as scoring

    return Holders(customers.privacy(), points.privacy(), coupons.privacy(), campaigns.campaigns(), scoring.privacy(), mot.privacy(),
                   lambda customer_id: audit.about(f"customers/{customer_id}"))


def export(holders: Holders, customer_id: str, now: datetime) -> dict[str, Any]:
    profile = holders.customers.export(customer_id)
    points = holders.points.export(customer_id)["points"]
    coupons = holders.coupons.export(customer_id)["coupons"]
    campaigns = holders.campaigns.export(customer_id)
    scoring = holders.scoring.export(customer_id)
    mot = holders.mot.export(customer_id)
    if not (profile or any(points.values()) or coupons or any(campaigns.values()) or scoring["scoring"] or any(mot.values())):
        raise NotFound(f"the engine holds nothing on customer {customer_id}", code="CUSTOMER_NOT_FOUND")
    return {
        "customerId": customer_id,
        "exportedAt": iso_utc(now),
        "profile": profile,
        "points": points,
        "coupons": coupons,
        "campaigns": campaigns,
        "scoring": scoring["scoring"],
        "identities": scoring["identities"],
        "mot": mot,
        "operatorActions": holders.operator_actions(customer_id),
    }


def erase(holders: Holders, customer_id: str, now: datetime) -> dict[str, Any]:
    tombstone = holders.customers.erase(customer_id, now)
    if tombstone is None:
        raise NotFound(f"customer {customer_id} has no profile", code="CUSTOMER_NOT_FOUND")
    scoring = holders.scoring.erase(customer_id, now)
    campaigns = holders.campaigns.erase(customer_id, now)
    mot = holders.mot.erase(customer_id, now)
    holders.points.erase(customer_id, now)
    holders.coupons.erase(customer_id, now)
    return {"customerId": customer_id, "erasedAt": tombstone["erasedAt"], "profileFieldsRemoved": tombstone["profileFieldsRemoved"],
            "scoringItemsDeleted": scoring["scoringItemsDeleted"], "campaignItemsErased": campaigns["campaignItemsErased"], "motItemsErased": mot, "kept": KEPT}
