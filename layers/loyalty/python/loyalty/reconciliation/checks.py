"""The reconciliation's checks, pure: what one page of each capability's books adds to the run's
tallies, and the report the tallies make at the end. No AWS here (`service` reads the pages).

The run's state (`Books`) is small whatever the number of customers: counts, one tally per campaign
and per template, and at most `MAX_FINDINGS` findings kept per check (all are counted).

Something still moving is not a discrepancy: a grant whose saga is under way, a command not answered
yet, a redemption still issuing is `inFlight` while younger than the settle time, and a finding
(`STUCK_...`) once older.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.campaigns.ports import CampaignBooks, GrantBooks
from loyalty.checkout.ports import SessionBooks
from loyalty.coupons.ports import CommandOutcome, IssuedBooks, TemplateBooks
from loyalty.points.ports import AccountBooks, AwardBooks, RedemptionBooks

CAMPAIGN_COSTS = "campaign_costs"
TEMPLATE_STOCK = "template_stock"
POINTS_LEDGER = "points_ledger"
REDEMPTION_COUPONS = "redemption_coupons"
ISSUE_COMMANDS = "issue_commands"
CHECKOUT_SESSIONS = "checkout_sessions"
CHECKS = (CAMPAIGN_COSTS, TEMPLATE_STOCK, POINTS_LEDGER, REDEMPTION_COUPONS, ISSUE_COMMANDS, CHECKOUT_SESSIONS)
MAX_FINDINGS = 50  # kept per check, with the ids needed to repair; every finding is counted

IN_FLIGHT_GRANTS = ("granted", "compensating")
HELD = ("delivered", "kept")  # what the customer holds of an action, as its capability tells it


@dataclass
class Check:
    examined: int = 0  # records checked, whatever their date
    ofTheDay: int = 0  # of them, those dated on the business date
    inFlight: int = 0
    discrepancies: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def found(self, code: str, **ids: Any) -> None:
        self.discrepancies += 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append({"code": code, **{k: v for k, v in ids.items() if v is not None}})


@dataclass
class Books:
    """The run's tallies so far (stored with each checkpoint as JSON)."""

    businessDate: str
    checks: dict[str, Check] = field(default_factory=lambda: {name: Check() for name in CHECKS})
    campaigns: dict[str, dict[str, int]] = field(default_factory=dict)  # id -> charged, delivered, grants
    templates: dict[str, dict[str, int]] = field(default_factory=dict)  # id -> coupons, bundles, inWallets

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Books:
        checks = {name: Check(**data["checks"].get(name, {})) for name in CHECKS}  # a run saved before a check was added
        return cls(data["businessDate"], checks, dict(data["campaigns"]), dict(data["templates"]))

    @property
    def discrepancies(self) -> int:
        return sum(check.discrepancies for check in self.checks.values())


@dataclass(frozen=True)
class Clock:
    """When the run reads, the bank's zone (for "of the day") and how long a change may take to settle."""

    now: datetime
    zone: ZoneInfo
    settle: timedelta

    def on_day(self, at: str | None, day: str) -> bool:
        return at is not None and _parse(at).astimezone(self.zone).date().isoformat() == day

    def settled(self, at: str) -> bool:
        return self.now - _parse(at) >= self.settle


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _tally(books: Books, table: str, key: str) -> dict[str, int]:
    return getattr(books, table).setdefault(key, {})


def _bump(tally: dict[str, int], name: str, n: int = 1) -> None:
    tally[name] = tally.get(name, 0) + n


# ---- grants: the campaign's cost against the rewards other capabilities hold -------------------------


def coupon_truth(outcome: CommandOutcome | None) -> str:
    """The action state coupons' books support for an `IssueCoupon` of a grant."""
    if outcome is None or outcome.outcome == "none":
        return "pending"
    if outcome.revocation == "revoked":
        return "compensated"
    if outcome.outcome == "refused":
        return "prevented" if outcome.revocation == "not_issued" else "refused"
    if outcome.revocation not in (None, "not_issued"):
        return "kept"  # the revocation was refused: redeemed, locked, delivered at issue
    return "delivered"


def points_truth(award: AwardBooks | None) -> str:
    if award is None or (award.awarded is None and not award.reversed):
        return "pending"
    if award.awarded is None:
        return "prevented"
    return "compensated" if award.reversed else "delivered"


# The states the books support for each state a grant records of an action.
_AGREES = {"delivered": {"delivered"}, "kept": {"kept"}, "compensated": {"compensated"},
           "prevented": {"prevented", "refused"}, "refused": {"refused", "prevented"}}


def add_grants(books: Books, clock: Clock, grants: Sequence[GrantBooks], coupons: Mapping[str, CommandOutcome],
               points: Mapping[str, AwardBooks]) -> None:
    costs = books.checks[CAMPAIGN_COSTS]
    for grant in grants:
        costs.examined += 1
        costs.ofTheDay += clock.on_day(grant.at, books.businessDate)
        tally = _tally(books, "campaigns", grant.campaign_id)
        _bump(tally, "grants")
        _bump(tally, "charged", grant.charged)
        truths = {a.command_id: coupon_truth(coupons.get(a.command_id)) if a.kind == "coupon" else points_truth(points.get(a.command_id))
                  for a in grant.actions}
        for action in grant.actions:
            if action.kind == "coupon":
                _issue_command(books, clock, action.command_id, grant.at, coupons.get(action.command_id), grant.customer_id)
        if grant.status in IN_FLIGHT_GRANTS:
            costs.inFlight += 1
            _bump(tally, "delivered", grant.charged)  # not judged until it settles
            if clock.settled(grant.at):
                costs.found("STUCK_GRANT", grantId=grant.grant_id, campaignId=grant.campaign_id, customerId=grant.customer_id,
                            status=grant.status, at=grant.at)
            continue
        costs.add(grant.status)
        for action in grant.actions:
            if truths[action.command_id] not in _AGREES.get(action.state, set()):
                costs.found("GRANT_ACTION_MISMATCH", grantId=grant.grant_id, campaignId=grant.campaign_id, customerId=grant.customer_id,
                            commandId=action.command_id, kind=action.kind, recorded=action.state, found=truths[action.command_id])
        _bump(tally, "delivered", delivered_cost(grant, truths))


def delivered_cost(grant: GrantBooks, truths: Mapping[str, str]) -> int:
    """The cost of what the customer holds of a settled grant, as the rewards' own books say: all
    of it when they hold every reward, else the share of what they hold (never more than the cost)."""
    held = [a for a in grant.actions if truths[a.command_id] in HELD]
    if len(held) == len(grant.actions):
        return grant.cost
    return min(grant.cost, sum(a.cost for a in held))


def _issue_command(books: Books, clock: Clock, command_id: str, sent_at: str, outcome: CommandOutcome | None,
                   customer_id: str) -> None:
    """An `IssueCoupon` command: one outcome (issued or refused) in coupons' books, for its customer."""
    check = books.checks[ISSUE_COMMANDS]
    check.examined += 1
    check.ofTheDay += clock.on_day(sent_at, books.businessDate)
    if outcome is None or outcome.outcome == "none":
        if clock.settled(sent_at):
            check.found("COMMAND_WITHOUT_OUTCOME", commandId=command_id, customerId=customer_id, sentAt=sent_at)
        else:
            check.inFlight += 1
        return
    check.add(outcome.outcome)
    if outcome.customer_id is not None and outcome.customer_id != customer_id:
        check.found("COUPON_OF_ANOTHER_CUSTOMER", commandId=command_id, customerId=customer_id, holder=outcome.customer_id)


def actions_to_read(grants: Iterable[GrantBooks]) -> tuple[list[str], list[tuple[str, str]]]:
    """The coupon commands and the (customer, command) awards a page of grants needs read."""
    coupons = [a.command_id for g in grants for a in g.actions if a.kind == "coupon"]
    awards = [(g.customer_id, a.command_id) for g in grants for a in g.actions if a.kind == "points"]
    return coupons, awards


# ---- coupons: what was issued, and the wallets ------------------------------------------------------

# Who sends `IssueCoupon` commands, by the coupon's `source`; a tier benefit's command id is derived
# from the customer, benefit and occasion and has no record to find (counted, not matched).
CAMPAIGN_SOURCE, MALL_SOURCE = "campaign", "points_mall"


def add_issued(books: Books, clock: Clock, items: Sequence[IssuedBooks]) -> None:
    stock = books.checks[TEMPLATE_STOCK]
    for item in items:
        if item.kind == "refused" or item.template_id is None:
            continue
        stock.examined += 1
        stock.ofTheDay += clock.on_day(item.issued_at, books.businessDate)
        tally = _tally(books, "templates", item.template_id)
        if item.kind == "bundle":
            _bump(tally, "bundles")
            continue
        _bump(tally, "coupons")
        stock.add(item.status or "unknown")
        if not item.in_wallet:
            stock.found("COUPON_NOT_IN_WALLET", couponId=item.item_id, templateId=item.template_id, customerId=item.customer_id)


def commands_of(items: Iterable[IssuedBooks]) -> tuple[dict[str, IssuedBooks], dict[str, IssuedBooks]]:
    """The coupons of a page issued by a command, by command id: those a campaign sent, those the
    points mall sent."""
    campaign = {i.command_id: i for i in items if i.command_id and i.source == CAMPAIGN_SOURCE}
    mall = {i.command_id: i for i in items if i.command_id and i.source == MALL_SOURCE}
    return campaign, mall


def add_senders(books: Books, issued: Mapping[str, IssuedBooks], known: set[str]) -> None:
    """Coupons issued by a command its sender has no record of: issued for nothing."""
    check = books.checks[ISSUE_COMMANDS]
    for command_id, item in issued.items():
        check.add("issuedByKnownCommand" if command_id in known else "issuedByUnknownCommand")
        if command_id not in known:
            check.found("COUPON_WITHOUT_COMMAND", couponId=item.item_id, commandId=command_id, customerId=item.customer_id)


def add_wallets(books: Books, entries: Sequence[tuple[str, str]]) -> None:
    for template_id, _status in entries:
        _bump(_tally(books, "templates", template_id), "inWallets")


# ---- points: the ledger against the balances and the lots ---------------------------------------------


def add_accounts(books: Books, accounts: Sequence[AccountBooks]) -> None:
    check = books.checks[POINTS_LEDGER]
    for account in accounts:
        check.examined += 1
        check.add("accounts")
        check.add("available", account.available)
        check.add("debt", account.debt)
        check.add("lots", account.lots_remaining)
        check.add("entries", account.entries)
        check.add("entriesPoints", account.entries_points)
        if account.entries_points != account.available - account.debt:
            check.found("LEDGER_NOT_BALANCE", customerId=account.customer_id, entries=account.entries_points,
                        balance=account.available - account.debt)
        if account.lots_remaining != account.available:
            check.found("LOTS_NOT_LIABILITY", customerId=account.customer_id, lots=account.lots_remaining, available=account.available)


# ---- redemptions for coupons: one coupon for each completed ----------------------------------------------


def coupon_redemptions(redemptions: Iterable[RedemptionBooks]) -> list[RedemptionBooks]:
    return [r for r in redemptions if r.kind == "coupon"]


def add_redemptions(books: Books, clock: Clock, redemptions: Sequence[RedemptionBooks], outcomes: Mapping[str, CommandOutcome]) -> None:
    check = books.checks[REDEMPTION_COUPONS]
    for redemption in redemptions:
        check.examined += 1
        check.ofTheDay += clock.on_day(redemption.created_at, books.businessDate)
        check.add(redemption.status)
        outcome = outcomes.get(redemption.redemption_id)
        _issue_command(books, clock, redemption.redemption_id, redemption.created_at, outcome, redemption.customer_id)
        issued = outcome is not None and outcome.outcome == "issued"
        ids = {"redemptionId": redemption.redemption_id, "customerId": redemption.customer_id}
        if redemption.status == "completed" and not issued:
            check.found("COMPLETED_WITHOUT_COUPON", **ids)
        elif redemption.status == "released" and issued:
            check.found("RELEASED_WITH_COUPON", **ids)  # the points came back and the coupon stayed
        elif redemption.status not in ("completed", "released"):
            if clock.settled(redemption.created_at):
                check.found("STUCK_REDEMPTION", status=redemption.status, **ids)
            else:
                check.inFlight += 1


# ---- checkout sessions: what each holds of the coupons and points it names ------------------------------

PAID_SESSIONS = ("confirmed", "partly_refunded", "refunded")
CLOSED_SESSIONS = ("cancelled", "lapsed")


def session_reads(sessions: Iterable[SessionBooks]) -> tuple[list[str], list[str]]:
    """The coupons and the points holds (`chk-<session>`) a page of sessions names."""
    sessions = list(sessions)
    return [c for s in sessions for c, _ in s.coupons], [f"chk-{s.session_id}" for s in sessions if s.points]


def add_sessions(books: Books, clock: Clock, sessions: Sequence[SessionBooks], holders: Mapping[str, tuple[str, str | None]],
                 holds: Mapping[str, str]) -> None:
    """A paid session's coupons are redeemed for it (those a refund gave back no longer are) and its
    points spent; a cancelled or lapsed one holds nothing; a locked one past its time is in flight
    until the sweep's settle time, then stuck."""
    check = books.checks[CHECKOUT_SESSIONS]
    for session in sessions:
        check.examined += 1
        check.ofTheDay += clock.on_day(session.created_at, books.businessDate)
        check.add(session.state)
        ids = {"sessionId": session.session_id, "customerId": session.customer_id}
        if session.state == "locked":
            if clock.settled(session.lapses_at):
                check.found("STUCK_SESSION", lapsesAt=session.lapses_at, **ids)
            else:
                check.inFlight += 1
            continue
        paid = session.state in PAID_SESSIONS
        for coupon_id, returned in session.coupons:
            status, order = holders.get(coupon_id, ("missing", None))
            ours = order == session.session_id and status in ("locked", "redeemed")
            if paid and not returned and not (ours and status == "redeemed"):
                check.found("COUPON_NOT_REDEEMED", couponId=coupon_id, status=status, **ids)
            elif (returned or not paid) and ours:
                check.found("COUPON_STILL_HELD", couponId=coupon_id, status=status, **ids)
        if session.points:
            held = holds.get(f"chk-{session.session_id}", "missing")
            expected = "completed" if paid else "released"
            if held != expected:
                check.found("POINTS_NOT_SETTLED", status=held, expected=expected, **ids)


# ---- the end: totals that need every page ---------------------------------------------------------------


def finish(books: Books, campaigns: Iterable[CampaignBooks], templates: Iterable[TemplateBooks]) -> None:
    costs, stock = books.checks[CAMPAIGN_COSTS], books.checks[TEMPLATE_STOCK]
    for campaign in campaigns:
        tally = books.campaigns.get(campaign.campaign_id, {})
        charged, delivered = tally.get("charged", 0), tally.get("delivered", 0)
        costs.add("costReported", campaign.cost)
        costs.add("costOfGrants", charged)
        costs.add("costOfRewards", delivered)
        ids = {"campaignId": campaign.campaign_id}
        if campaign.cost != charged:
            costs.found("COST_NOT_GRANTS", reported=campaign.cost, grants=charged, **ids)
        if campaign.total_spent is not None and campaign.total_spent != charged:
            costs.found("BUDGET_NOT_GRANTS", spent=campaign.total_spent, grants=charged, **ids)
        if charged != delivered:
            costs.found("GRANTS_NOT_REWARDS", grants=charged, rewards=delivered, **ids)
    known = set()
    for template in templates:
        known.add(template.template_id)
        tally = books.templates.get(template.template_id, {})
        taken = template.stock_added - template.stock_left
        issued = tally.get("coupons", 0) + tally.get("bundles", 0)
        stock.add("stockTaken", taken)
        stock.add("issued", issued)
        stock.add("inWallets", tally.get("inWallets", 0))
        if taken != issued:
            stock.found("STOCK_NOT_ISSUED", templateId=template.template_id, taken=taken, issued=issued)
        if tally.get("coupons", 0) != tally.get("inWallets", 0):
            stock.found("ISSUED_NOT_IN_WALLETS", templateId=template.template_id, coupons=tally.get("coupons", 0),
                        inWallets=tally.get("inWallets", 0))
    for template_id in sorted(set(books.templates) - known):
        stock.found("UNKNOWN_TEMPLATE", templateId=template_id)
