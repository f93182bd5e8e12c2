"""MGM referral (老带新): invite codes, binding at sign-up, qualification, and both rewards.

A customer's invite code is derived from their id under the engine's PII key (so it cannot be
guessed from the id) and registered once; a clash with another customer's code moves to the next
candidate. An invitee binds a code with the `referralCode` of their `AccountOpened`. The binding is
refused, and announced, when the code is unknown, names the invitee, or the invitee's device or
phone hash is one the inviter has used (the shared identity index that scoring keeps, asked through
`loyalty.scoring.ports`). A bound invitee qualifies with their first card transaction of at least the
campaign's amount within its days; the qualification is one conditional write, so of two racing
transactions one wins. Both rewards are ordinary grants keyed `referral:<invitee>`, each under the
campaign's budget and caps, so a redelivered transaction finds them granted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from loyalty.campaigns import granting, records, service, targeting
from loyalty.campaigns.model import ReferralTrigger
from loyalty.campaigns.parking import AWAITING_PROFILE
from loyalty.campaigns.store import CampaignStore
from loyalty.campaigns.tasks import occurred_at
from loyalty.core.clock import iso_utc
from loyalty.core.errors import Conflict
from loyalty.core.observability import count
from loyalty.core.outbox import PendingEvent

if TYPE_CHECKING:
    from loyalty.campaigns.granting import Eligibility

SOURCE = service.SOURCE
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0 or 1: read aloud and typed from a poster
CODE_LENGTH = 8
CANDIDATES = 8


def code_candidate(customer_id: str, attempt: int) -> str:
    from loyalty.core.pii import keyed_hash

    digest = int(keyed_hash(f"invite\x1f{customer_id}\x1f{attempt}").removeprefix("hk1:"), 16)
    return "".join(ALPHABET[(digest >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def invite_code(store: CampaignStore, customer_id: str, now: datetime) -> dict[str, Any]:
    """The customer's code, registered on first request; the same code every time after."""
    for attempt in range(CANDIDATES):
        existing = store.inviter(customer_id)
        if existing:
            return {"customerId": customer_id, "code": existing["code"], "createdAt": existing["createdAt"]}
        code, at = code_candidate(customer_id, attempt), iso_utc(now)
        if store.register_code(customer_id, code, at):
            return {"customerId": customer_id, "code": code, "createdAt": at}
        # a concurrent request registered the customer's code first (read it), or the code is taken
    raise Conflict("no free invite code; retry", code="INVITE_CODE_CONTENDED")


def on_event(store: CampaignStore, event_type: str, detail: dict[str, Any], audience: Eligibility, now: datetime, *,
             only: Collection[str] | None = None, keyed_hashes: Sequence[str] = ()) -> dict[str, str]:
    """The referral campaigns' part of an event (`only` these, for a trigger parked for them)."""
    active = [m for m in service.campaigns_for(store, "REFERRAL")
              if service.view(m, now)["effectiveStatus"] == "active" and (only is None or m["campaignId"] in only)]
    outcomes: dict[str, str] = {}
    if active and audience.erased:
        return outcomes  # an erased customer is neither bound nor qualified again
    for meta in active:
        if event_type == "AccountOpened" and detail.get("referralCode"):
            outcomes[meta["campaignId"]] = bind(store, meta, detail, audience, now, keyed_hashes)
        elif event_type == "CardTransactionPosted":
            outcome = qualify(store, meta, detail, now)
            if outcome != "not_referred":
                outcomes[meta["campaignId"]] = outcome
    return outcomes


def refusal(invitee_id: str, inviter: dict[str, Any] | None, detail: dict[str, Any], keyed_hashes: Sequence[str] = ()) -> str | None:
    """Why the binding is refused, if it is. The invitee's hashes are the event's as received, or a
    parked sign-up's keyed ones (a parked event never keeps them as received)."""
    if inviter is None:
        return "unknown_code"
    if inviter["customerId"] == invitee_id:
        return "self_referral"
    hashes = [str(detail[name]) for name in ("deviceHash", "phoneHash") if detail.get(name)]
    if hashes or keyed_hashes:
        from loyalty.scoring.ports import shared_identities  # scoring's identity index, through its port

        index, inviter_id = shared_identities(), str(inviter["customerId"])
        if (hashes and index.shares_identity(inviter_id, hashes)) or (keyed_hashes and index.shares_keyed_identity(inviter_id, keyed_hashes)):
            return "shared_identity"
    return None


def bind(store: CampaignStore, meta: dict[str, Any], detail: dict[str, Any], audience: Eligibility, now: datetime,
         keyed_hashes: Sequence[str] = ()) -> str:
    """bound, refused:<reason>, already (the invitee was bound or refused before), not_in_audience, or
    awaiting_profile (the audience reads a profile that has not arrived: the sign-up is parked)."""
    definition = service.definition_of(meta)
    trigger: ReferralTrigger = definition.trigger  # type: ignore[assignment]
    invitee_id, code = str(detail["customerId"]), str(detail["referralCode"]).strip().upper()
    if not audience.admits(definition):
        return AWAITING_PROFILE if audience.awaits_profile(definition) else "not_in_audience"
    inviter = store.invite(code)
    reason = refusal(invitee_id, inviter, detail, keyed_hashes)
    opened = occurred_at(detail, now)
    inviter_id = str(inviter["customerId"]) if inviter else None
    record = {
        **records.referral_key(definition.campaignId, invitee_id), "campaignId": definition.campaignId, "inviteeId": invitee_id,
        "inviterId": inviter_id, "code": code, "status": "refused" if reason else "bound", "reason": reason, "boundAt": iso_utc(opened),
        "qualifyBy": iso_utc(opened + timedelta(days=trigger.withinDays)),
        # gsi1 lists an inviter's referrals, for the customer's own view
        "gsi1pk": f"INVITER#{inviter_id}" if inviter_id else None, "gsi1sk": f"{definition.campaignId}#{invitee_id}" if inviter_id else None,
    }
    event = {"campaignId": definition.campaignId, "inviteeId": invitee_id, "inviterId": inviter_id, "reason": reason}
    announced = PendingEvent(SOURCE, "ReferralRefused" if reason else "ReferralBound", {k: v for k, v in event.items() if v is not None})
    if not store.bind_referral(record, announced):
        return "already"
    count("ReferralsRefused" if reason else "ReferralsBound")
    return f"refused:{reason}" if reason else "bound"


def qualify(store: CampaignStore, meta: dict[str, Any], detail: dict[str, Any], now: datetime) -> str:
    """not_referred, not_qualifying, already, or the outcomes of the invitee's and inviter's grants."""
    definition = service.definition_of(meta)
    trigger: ReferralTrigger = definition.trigger  # type: ignore[assignment]
    invitee_id, transaction = str(detail["customerId"]), str(detail["transactionId"])
    referral = store.referral(definition.campaignId, invitee_id)
    if referral is None or referral["status"] == "refused":
        return "not_referred"
    if referral["status"] == "bound":
        posted = occurred_at(detail, now)
        in_time = datetime.fromisoformat(referral["boundAt"]) <= posted <= datetime.fromisoformat(referral["qualifyBy"])
        if not targeting.meets_amount(trigger.minAmountMinor, trigger.currency, detail) or not in_time:
            return "not_qualifying"
        if _mark_qualified(store, definition.campaignId, referral, transaction, now):
            count("ReferralsQualified")
        referral = store.referral(definition.campaignId, invitee_id) or referral
    if referral.get("qualifyingTransaction") != transaction:
        return "already"  # qualified by another transaction, whose delivery pays the rewards
    reason = f"referral:{invitee_id}"
    invitee = granting.grant(store, meta, invitee_id, reason, now, context=detail)
    if referral["inviterId"] == records.ERASED_INVITER:
        return f"invitee:{invitee},inviter:erased"  # the inviter was erased (loyalty.privacy): nothing goes to them
    inviter = granting.grant(store, meta, str(referral["inviterId"]), reason, now, actions=trigger.inviterActions)
    return f"invitee:{invitee},inviter:{inviter}"


def _mark_qualified(store: CampaignStore, campaign_id: str, referral: dict[str, Any], transaction: str, now: datetime) -> bool:
    event = PendingEvent(SOURCE, "ReferralQualified", {"campaignId": campaign_id, "inviteeId": referral["inviteeId"],
                                                      "inviterId": referral["inviterId"], "transactionId": transaction})
    return store.qualify_referral(campaign_id, referral["inviteeId"], transaction, iso_utc(now), event)


def referrals_of(store: CampaignStore, customer_id: str) -> dict[str, Any]:
    """A customer's code and the referrals made with it. Invitees are shown masked: they are other
    customers."""
    from loyalty.core.pii import masked

    mine = store.inviter(customer_id, consistent=False)
    made = store.referrals_made(customer_id)
    return {"customerId": customer_id, "code": mine["code"] if mine else None,
            "referrals": [{"campaignId": r["campaignId"], "invitee": masked(r["inviteeId"]), "status": r["status"], "boundAt": r["boundAt"],
                           **{k: r[k] for k in ("reason", "qualifiedAt") if r.get(k)}} for r in made]}
