"""The daily reconciliation's run: started for a business date (by the schedule, or by an operator
through the API), then worked page by page until done, with a checkpoint after every page, so that
an invocation that times out or dies is resumed where it stopped (by the resume schedule or the
next request). It reads each capability's books only through its port (`Sources`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from loyalty.campaigns.ports import CampaignsBooks
from loyalty.checkout.ports import CheckoutBooks
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation
from loyalty.core.events import OutboundEvent, publish
from loyalty.core.observability import count, logger
from loyalty.coupons.ports import CouponsBooks
from loyalty.points.ports import PointsBooks
from loyalty.reconciliation import checks
from loyalty.reconciliation.checks import Books, Clock
from loyalty.reconciliation.store import Phase, Run, RunStore, Superseded

SOURCE = "loyalty.reconciliation"
PHASES: tuple[Phase, ...] = ("grants", "coupons", "wallets", "accounts", "sessions", "finish", "done")


@dataclass(frozen=True)
class Sources:
    campaigns: CampaignsBooks
    coupons: CouponsBooks
    points: PointsBooks
    checkout: CheckoutBooks


def default_sources() -> Sources:
    from loyalty.campaigns import ports as campaigns
    from loyalty.checkout import ports as checkout
    from loyalty.coupons import ports as coupons
    from loyalty.points import ports as points

    return Sources(campaigns.books(), coupons.books(), points.books(), checkout.books())


def closed_day(now: datetime) -> date:
    """The business date that closed last: the one the daily schedule (just after midnight) reconciles."""
    return business_date(now, get_settings().bank_zone) - timedelta(days=1)


def not_in_future(day: date, now: datetime) -> None:
    if day > business_date(now, get_settings().bank_zone):
        raise BusinessRuleViolation(f"{day.isoformat()} is a business date still to come", code="BUSINESS_DATE_IN_FUTURE")


def request(store: RunStore, day: date, now: datetime, requested_by: str) -> Run:
    """Starts a run for `day`, replacing a finished one (a re-run after a repair); a run already
    under way for that day is answered as it is. A day still to come cannot be reconciled."""
    not_in_future(day, now)
    current = store.get(day.isoformat())
    if current is not None and current.status == "running":
        return current
    at = iso_utc(now)
    run = Run(day.isoformat(), f"rec_{uuid.uuid4().hex[:16]}", "running", PHASES[0], None, 0, Books(day.isoformat()), 0,
              requested_by, at, at)
    try:
        store.put_new(run, current)
    except Superseded:
        latest = store.get(day.isoformat())
        assert latest is not None
        return latest
    return run


def hand_over(run: Run) -> None:
    """Asks the worker to take up a run an operator requested, now rather than at the next resume tick
    (which still takes it up if this message is lost: the run is on the unfinished index)."""
    from loyalty.core.aws import sqs

    url = get_settings().reconciliation_runs_queue_url
    if run.status == "running" and url:
        sqs().send_message(QueueUrl=url, MessageBody=json.dumps({"businessDate": run.business_date, "runId": run.run_id}))


Announce = Callable[[Sequence[OutboundEvent]], None]


def work(store: RunStore, sources: Sources, run: Run, now: Callable[[], datetime], time_left: Callable[[], float],
         announce: Announce = publish) -> Run:
    """Pages through the books until the run is done or `time_left()` (seconds) is below the
    settings' stop margin; a finding is announced (`ReconciliationFailed`) with `announce`. Another
    invocation advancing the same run stops this one quietly."""
    settings = get_settings()
    while run.status == "running" and time_left() > settings.reconciliation_stop_seconds:
        clock = Clock(now(), settings.bank_zone, timedelta(minutes=settings.reconciliation_settle_minutes))
        try:
            run = _step(store, sources, run, clock, settings.reconciliation_page_items, announce)
        except Superseded:
            logger.info("reconciliation run moved on elsewhere", extra={"businessDate": run.business_date, "runId": run.run_id})
            return store.get(run.business_date) or run
    return run


def _step(store: RunStore, sources: Sources, run: Run, clock: Clock, page_items: int, announce: Announce) -> Run:
    books = Books.from_json(run.books.to_json())  # the stored run stays as read if this page fails
    cursor: str | None = None
    if run.phase == "grants":
        grants, cursor = sources.campaigns.grants(run.cursor, page_items)
        coupon_commands, awards = checks.actions_to_read(grants)
        checks.add_grants(books, clock, grants, sources.coupons.outcomes(coupon_commands), sources.points.awards(awards))
    elif run.phase == "coupons":
        items, cursor = sources.coupons.issued(run.cursor, page_items)
        checks.add_issued(books, clock, items)
        by_campaigns, by_mall = checks.commands_of(items)
        known = sources.campaigns.known_commands(list(by_campaigns)) | sources.points.known_redemptions(list(by_mall))
        checks.add_senders(books, {**by_campaigns, **by_mall}, known)
    elif run.phase == "wallets":
        entries, cursor = sources.coupons.wallets(run.cursor, page_items)
        checks.add_wallets(books, entries)
    elif run.phase == "accounts":  # the points table's one pass: its accounts and its redemptions
        accounts, page, cursor = sources.points.accounts(run.cursor, page_items)
        checks.add_accounts(books, accounts)
        redemptions = checks.coupon_redemptions(page)
        checks.add_redemptions(books, clock, redemptions, sources.coupons.outcomes([r.redemption_id for r in redemptions]))
    elif run.phase == "sessions":  # checkout's sessions against the coupons and points they name
        sessions, cursor = sources.checkout.sessions(run.cursor, page_items)
        coupon_ids, hold_ids = checks.session_reads(sessions)
        checks.add_sessions(books, clock, sessions, sources.coupons.holders(coupon_ids), sources.points.redemption_statuses(hold_ids))
    elif run.phase == "finish":
        checks.finish(books, sources.campaigns.campaigns(), sources.coupons.templates())
        _announce(run, books, announce, iso_utc(clock.now))
        done = run.advanced(status="done", phase="done", cursor=None, books=books, pages=run.pages + 1,
                            updated_at=iso_utc(clock.now), finished_at=iso_utc(clock.now))
        store.save(done)
        logger.info("reconciliation done", extra={"businessDate": run.business_date, "discrepancies": books.discrepancies})
        return done
    phase = run.phase if cursor is not None else PHASES[PHASES.index(run.phase) + 1]
    advanced = run.advanced(phase=phase, cursor=cursor, books=books, pages=run.pages + 1, updated_at=iso_utc(clock.now))
    store.save(advanced)
    return advanced


def _announce(run: Run, books: Books, announce: Announce, at: str) -> None:
    """Before the run is marked done: if marking it fails, the step is redone and announces again,
    under the same event id (consumers drop the duplicate)."""
    count("ReconciliationDiscrepancies", books.discrepancies)
    if books.discrepancies:
        by_check = {name: check.discrepancies for name, check in books.checks.items() if check.discrepancies}
        announce([OutboundEvent(SOURCE, "ReconciliationFailed", {
            "eventId": f"reconciliation:{run.run_id}", "occurredAt": at, "businessDate": run.business_date, "runId": run.run_id,
            "discrepancies": books.discrepancies, "byCheck": by_check})])
