"""One customer's task progress, invite code and referrals in the `campaigns` table (models in `items_customer`)."""

from __future__ import annotations

from typing import Any, Protocol

from loyalty.campaigns import records
from loyalty.campaigns.items import CampaignOutbox
from loyalty.campaigns.items_customer import InviteCodeItem, InviterItem, ProgressItem, ReferralItem
from loyalty.campaigns.refusals import Refused
from loyalty.campaigns.store_runs import found, once
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import CONDITION_FAILED, Transaction
from loyalty.core.transactions import Refused as Cancelled


class CustomerRecordStore(Protocol):
    def progress(self, customer_id: str, campaign_id: str) -> dict[str, Any] | None: ...

    def progress_of(self, customer_id: str) -> list[dict[str, Any]]: ...

    def put_progress(self, record: dict[str, Any], expected_version: int, customer_id: str) -> bool:
        """Replaces the progress record if it is still at `expected_version` (0: there is none), in one
        transaction with the check that the customer was not erased (else Refused("erased")); False if
        someone else wrote it since it was read."""

    def inviter(self, customer_id: str, *, consistent: bool = True) -> dict[str, Any] | None: ...

    def invite(self, code: str) -> dict[str, Any] | None: ...

    def register_code(self, customer_id: str, code: str, at: str) -> bool:
        """The customer's code and the code's owner, both new, or neither: False if either exists."""

    def bind_referral(self, record: dict[str, Any], event: PendingEvent) -> bool:
        """A new referral, with its event; False if the invitee was bound or refused before."""

    def referral(self, campaign_id: str, invitee_id: str) -> dict[str, Any] | None: ...

    def qualify_referral(self, campaign_id: str, invitee_id: str, transaction_id: str, at: str, event: PendingEvent) -> bool:
        """A bound referral becomes qualified by this transaction, with its event; False if it is not bound any more."""

    def referrals_made(self, customer_id: str) -> list[dict[str, Any]]: ...


class DynamoCustomerRecords:
    def progress(self, customer_id: str, campaign_id: str) -> dict[str, Any] | None:
        return found(ProgressItem, records.progress_key(customer_id, campaign_id))

    def progress_of(self, customer_id: str) -> list[dict[str, Any]]:
        return [p.plain() for p in ProgressItem.query(f"PROGRESS#{customer_id}", consistent_read=True)]

    def put_progress(self, record: dict[str, Any], expected_version: int, customer_id: str) -> bool:
        from loyalty.customers.ports import directory

        # The version attribute adds "version = expected" (or "no version yet" when not set) and writes expected + 1.
        item = ProgressItem(**{k: v for k, v in record.items() if k != "version"})
        if expected_version:
            item.version = expected_version
        transaction = Transaction()
        transaction.put("progress", item, ProgressItem.pk.does_not_exist() if not expected_version else None)
        directory().require_not_erased(transaction, customer_id)
        try:
            transaction.commit()
            return True
        except Cancelled as refused:
            if refused.failed("customer-not-erased"):
                raise Refused("erased") from None
            return False

    def inviter(self, customer_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return found(InviterItem, records.inviter_key(customer_id), consistent=consistent)

    def invite(self, code: str) -> dict[str, Any] | None:
        return found(InviteCodeItem, records.invite_key(code))

    def register_code(self, customer_id: str, code: str, at: str) -> bool:
        transaction = Transaction()
        transaction.put("inviter", InviterItem(*records.split(records.inviter_key(customer_id)), customerId=customer_id, code=code, createdAt=at),
                        InviterItem.pk.does_not_exist())
        transaction.put("code", InviteCodeItem(*records.split(records.invite_key(code)), customerId=customer_id, code=code, createdAt=at),
                        InviteCodeItem.pk.does_not_exist())
        try:
            transaction.commit()
            return True
        except Cancelled as refused:
            # As the items are written: the customer's own code first, then the code's owner.
            first = next((code for code in (refused.reasons.get("inviter"), refused.reasons.get("code")) if code), None)
            if first != CONDITION_FAILED:
                raise
            return False

    def bind_referral(self, record: dict[str, Any], event: PendingEvent) -> bool:
        transaction = Transaction()
        transaction.put("referral", ReferralItem(**record), ReferralItem.pk.does_not_exist())
        CampaignOutbox.add_to(transaction, [event])
        return once(transaction, "referral")

    def referral(self, campaign_id: str, invitee_id: str) -> dict[str, Any] | None:
        return found(ReferralItem, records.referral_key(campaign_id, invitee_id))

    def qualify_referral(self, campaign_id: str, invitee_id: str, transaction_id: str, at: str, event: PendingEvent) -> bool:
        transaction = Transaction()
        transaction.update("referral", ReferralItem(*records.split(records.referral_key(campaign_id, invitee_id))),
                           [ReferralItem.status.set("qualified"), ReferralItem.qualifiedAt.set(at),
                            ReferralItem.qualifyingTransaction.set(transaction_id)], ReferralItem.status == "bound")
        CampaignOutbox.add_to(transaction, [event])
        return once(transaction, "referral")

    def referrals_made(self, customer_id: str) -> list[dict[str, Any]]:
        return [r.plain() for r in ReferralItem.by_inviter.query(f"INVITER#{customer_id}")]
