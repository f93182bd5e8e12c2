"""What other capabilities may ask of coupons: the only way they reach the coupons table.

Campaigns, the points mall and tier benefits send `IssueCoupon` commands to the coupon-commands
queue and hear the coupons' events from the bus. Asked of it directly: PIPL's export and erasure of
a customer (privacy), the books the daily reconciliation checks (`books()`: read only, in pages),
the wallet checkout prices an order against (`wallet()`: read only), a checkout session's
coupons (`checkout_coupons()`: staged in checkout's transaction, by coupons' own state machine), and
an RM's offer (`offers()`: issued with the RM's budget in one transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from loyalty.core.missing import Missing

if TYPE_CHECKING:
    from loyalty.core.errors import DomainError
    from loyalty.core.transactions import Transaction


class CouponsPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """`{"coupons": [...]}`: every coupon of the customer as stored, less keys and index attributes."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """What an erasure did to coupons: `{"kept": ["coupons"]}` (the books need them; nothing changes)."""


def privacy() -> CouponsPrivacy:
    from loyalty.coupons import privacy as coupons_privacy

    return coupons_privacy


# ---- the books, for the daily reconciliation (loyalty.reconciliation) ------------------------------


@dataclass(frozen=True)
class TemplateBooks:
    template_id: str
    stock_added: int  # everything ever allotted (the stock at creation, additions, uploaded codes)
    stock_left: int  # what the stock shards still hold


@dataclass(frozen=True)
class IssuedBooks:
    """One `CPN#` item: a coupon, a bundle's claim (it took the bundle template's stock; its parts are
    coupons of their own templates), or a refused command's record."""

    kind: Literal["coupon", "bundle", "refused"]
    item_id: str
    template_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    issued_at: str | None = None
    command_id: str | None = None
    source: str | None = None  # claim, campaign, points_mall, tier_benefit, ...
    in_wallet: bool = False  # on the wallet index's key (every coupon must be)
    valid_until: str | None = None


@dataclass(frozen=True)
class TemplateValue:
    """What one coupon of a template is worth when redeemed, for the cash-need forecast: the benefit's
    fixed amount (`face`: fixed_amount, threshold, red_packet), else the funding's `unitCostMinor`
    (`unit_cost`: percentage, random_amount, gift, voucher_code); a bundle's own template is worth
    nothing (`none`: its parts are coupons of their own templates)."""

    template_id: str
    kind: str
    value_minor: int
    currency: str | None
    basis: Literal["face", "unit_cost", "none"]


@dataclass(frozen=True)
class CommandOutcome:
    """What coupons did with one `IssueCoupon` command (its coupon id is derived from the command id,
    so there is at most one): issued (a coupon or a bundle), refused, or nothing yet; and what its
    `RevokeCoupon`, if any, did."""

    command_id: str
    outcome: Literal["issued", "refused", "none"]
    customer_id: str | None = None
    statuses: tuple[str, ...] = ()  # of the coupons issued (a bundle's parts)
    revocation: str | None = None  # revoked, not_issued, or the refusal's code


class CouponsBooks(Protocol):
    def templates(self) -> Iterator[TemplateBooks]: ...

    def issued(self, cursor: str | None, limit: int) -> tuple[list[IssuedBooks], str | None]:
        """A page of every `CPN#` item (a scan), and the cursor of the next."""

    def wallets(self, cursor: str | None, limit: int) -> tuple[list[tuple[str, str]], str | None]:
        """A page of the wallet index: (template id, status) of each coupon found there."""

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        """The outcome of each command (one batched read of at most 100 ids)."""

    def template_values(self) -> Iterator[TemplateValue]:
        """Every template's value per coupon (the template list, a page at a time)."""

    def holders(self, coupon_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Each coupon's stored status and the order it is locked or redeemed for (one batched read)."""


def books() -> CouponsBooks:
    from loyalty.coupons.books import DynamoCouponsBooks

    return DynamoCouponsBooks()


# ---- checkout: the wallet it prices an order against (docs/checkout.md) ----------------------------


@dataclass(frozen=True)
class WalletCoupon:
    """A coupon as checkout prices it: what it takes off, where, until when, and its state now."""

    couponId: str
    templateId: str
    kind: str
    benefit: dict[str, Any]
    validFrom: str
    validUntil: str
    status: str  # as of now: a lapsed lock is available again, a lapsed coupon expired
    redemption: dict[str, Any]  # merchants, channels
    amountMinor: int | None  # a random_amount coupon's drawn amount
    lockOrderId: str | None


class CouponsWallet(Protocol):
    def usable(self, customer_id: str, now: datetime, limit: int) -> list[WalletCoupon]:
        """The customer's coupons still available or locked as of `now` (not redeemed, returned into
        use, expired or revoked), newest first, at most `limit`: one query of the wallet index
        (eventually consistent; a session's lock is what decides)."""


    def owned(self, customer_id: str, coupon_ids: Sequence[str], now: datetime) -> list[WalletCoupon]:
        """Those of the coupons that are the customer's, whatever their state as of now (each read
        consistently): a quote's coupons chosen that are no longer usable are left out with their
        reason, and only another's (or none at all) is refused."""


def _wallet_coupon(coupon: Any, status: str) -> WalletCoupon:
    return WalletCoupon(coupon.coupon_id, coupon.template_id, coupon.kind, dict(coupon.benefit), coupon.valid_from, coupon.valid_until,
                        status, dict(coupon.redemption), coupon.amount_minor, coupon.lock_order_id if status == "locked" else None)


class DynamoCouponsWallet:
    def usable(self, customer_id: str, now: datetime, limit: int) -> list[WalletCoupon]:
        from loyalty.coupons import logic
        from loyalty.coupons.store import DynamoCouponStore

        found: list[WalletCoupon] = []
        for coupon, _ in DynamoCouponStore().wallet_pages(customer_id, None):
            status = logic.effective_status(coupon, now)
            if status in ("available", "locked"):
                found.append(_wallet_coupon(coupon, status))
                if len(found) == limit:
                    break
        return found

    def owned(self, customer_id: str, coupon_ids: Sequence[str], now: datetime) -> list[WalletCoupon]:
        from loyalty.core.errors import NotFound
        from loyalty.coupons import logic
        from loyalty.coupons.store import DynamoCouponStore

        found = []
        for coupon_id in coupon_ids:
            try:
                coupon = DynamoCouponStore().get_coupon(coupon_id)
            except NotFound:
                continue
            if coupon.customer_id == customer_id:
                found.append(_wallet_coupon(coupon, logic.effective_status(coupon, now)))
        return found


def wallet() -> CouponsWallet:
    return DynamoCouponsWallet()


# ---- the org scope: which unit a template belongs to (loyalty.org.scope) ------------------------------



class TemplateUnits(Protocol):
    def unit_of(self, template_id: str) -> str | Missing | None:
        """The org unit the template belongs to (None: the head office's), or MISSING."""


class DynamoTemplateUnits:
    def unit_of(self, template_id: str) -> str | Missing | None:
        from loyalty.core.errors import NotFound
        from loyalty.core.missing import MISSING
        from loyalty.coupons.store import DynamoCouponStore

        try:
            return DynamoCouponStore().get_template(template_id).definition.orgUnitId
        except NotFound:
            return MISSING


def template_units() -> TemplateUnits:
    return DynamoTemplateUnits()


# ---- checkout: a session's coupons (docs/checkout.md, "Sessions") -------------------------------------


@dataclass(frozen=True)
class CouponAtCheckout:
    couponId: str
    templateId: str
    campaignId: str | None
    funding: dict[str, Any]  # costCentre, merchantId, unitCostMinor, currency: who pays for it
    returnPolicy: str  # on_full_refund | never


class CheckoutCoupons(Protocol):
    """Each stages its coupons' writes in checkout's transaction, each conditioned on the version it
    read (labelled `coupon:<id>`: refused, that coupon changed meanwhile), with coupons' own events.
    A coupon already as asked for this session is left as it is."""

    def lock(self, transaction: Transaction, customer_id: str, coupon_ids: Sequence[str], session_id: str, until: datetime,
             discounts: dict[str, int], now: datetime) -> list[CouponAtCheckout]:
        """Locked for the session until `until`, each with its discount. A coupon not the customer's
        is 403; one that cannot be locked now (locked for another order, redeemed, expired, revoked)
        raises the state machine's refusal with the coupon's id in `details`."""

    def redeem(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]: ...

    def release(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]: ...

    def give_back(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]: ...


def checkout_coupons() -> CheckoutCoupons:
    from loyalty.coupons.checkout_locks import DynamoCheckoutCoupons

    return DynamoCheckoutCoupons()


# ---- an RM's offer: a coupon issued in the RM's own transaction (docs/mot.md, "Offers") ---------------


@dataclass(frozen=True)
class OfferValue:
    """What one coupon of the template costs the one offering it: its `TemplateValue`'s amount."""

    template_id: str
    value_minor: int
    currency: str | None


@dataclass(frozen=True)
class OfferIssued:
    coupon_ids: tuple[str, ...]
    replayed: bool


class CouponOffers(Protocol):
    def value(self, template_id: str) -> OfferValue:
        """The template's value per coupon; 404 TEMPLATE_NOT_FOUND."""

    def issue(self, customer_id: str, template_id: str, offer_id: str, now: datetime, *,
              stage: Callable[[Transaction], None], refusals: Mapping[str, DomainError]) -> OfferIssued:
        """Issues the coupon with the caller's items (`stage`) in one transaction, once per `offer_id`;
        a refused staged item raises its error from `refusals`, and the template's own refusals
        (TEMPLATE_NOT_ACTIVE, NOT_ELIGIBLE, COUPON_OUT_OF_STOCK, COUPON_LIMIT_REACHED) are raised as
        they are: nothing is written then."""


class DynamoCouponOffers:
    def value(self, template_id: str) -> OfferValue:
        from loyalty.coupons.books import template_value
        from loyalty.coupons.service import cached_template, default_store

        found = template_value(cached_template(default_store(), template_id))
        return OfferValue(template_id, found.value_minor, found.currency)

    def issue(self, customer_id: str, template_id: str, offer_id: str, now: datetime, *,
              stage: Callable[[Transaction], None], refusals: Mapping[str, DomainError]) -> OfferIssued:
        from loyalty.coupons.service import ProfileFacts, default_store, offer

        issued = offer(default_store(), ProfileFacts(), customer_id, template_id, offer_id, now, stage=stage, refusals=refusals)
        return OfferIssued(tuple(c.coupon_id for c in issued.coupons), issued.replayed)


def offer_coupon_id(offer_id: str) -> str:
    """The id of the coupon an offer issues (a bundle's: its claim's), known before it is issued."""
    from loyalty.coupons.logic import command_coupon_id

    return command_coupon_id(f"offer:{offer_id}")


def offers() -> CouponOffers:
    return DynamoCouponOffers()
