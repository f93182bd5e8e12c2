"""The reconciliation's report as the API answers it (`GET /v1/admin/reconciliation/{businessDate}`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from loyalty.reconciliation.checks import CHECKS
from loyalty.reconciliation.store import Run

CheckName = Literal["campaign_costs", "template_stock", "points_ledger", "redemption_coupons", "issue_commands", "checkout_sessions"]
assert set(CheckName.__args__) == set(CHECKS)  # type: ignore[attr-defined]


class CheckReport(BaseModel):
    name: CheckName = Field(description="campaign_costs: each campaign's cost = the cost of its grants not compensated = the cost of "
                                        "the rewards coupons and points hold; template_stock: stock taken = coupons issued = coupons in "
                                        "wallets; points_ledger: the entries = balance - debt, the lots = the liability; "
                                        "redemption_coupons: one coupon for each completed points redemption, none for a released one; "
                                        "issue_commands: one outcome for each IssueCoupon command, and a command for each coupon issued by one; "
                                        "checkout_sessions: a paid checkout session's coupons redeemed for it (those a refund gave back "
                                        "no longer) and its points spent, a cancelled or lapsed one's released, none locked past its time.")
    examined: int = Field(description="Records checked (grants, coupons, accounts, redemptions, commands, sessions), whatever their date.")
    ofTheDay: int = Field(description="Of them, those dated on the business date (bank time zone).")
    inFlight: int = Field(description="Still moving and younger than the settle time: not judged.")
    discrepancies: int
    counts: dict[str, int] = Field(description="The check's totals, by name (statuses, points, stock).")
    findings: list[dict[str, str | int]] = Field(
        description="The first 50 discrepancies, each with its `code` and the ids needed to repair it.")


class ReconciliationReport(BaseModel):
    businessDate: str
    runId: str
    status: Literal["running", "done"]
    phase: str = Field(description="Where a running reconciliation is: grants, coupons, wallets, accounts (and redemptions), "
                                   "sessions, finish; done.")
    pages: int = Field(description="Pages of books read so far.")
    discrepancies: int = Field(description="All checks' discrepancies (0: the books agree). Final once `status` is done.")
    requestedBy: str = Field(description="`schedule`, or the operator who asked for it.")
    startedAt: str
    updatedAt: str
    finishedAt: str | None = None
    checks: list[CheckReport]

    @classmethod
    def of(cls, run: Run) -> ReconciliationReport:
        checks = [CheckReport(name=name, **vars(check)) for name, check in run.books.checks.items()]  # type: ignore[arg-type]
        return cls(businessDate=run.business_date, runId=run.run_id, status=run.status, phase=run.phase, pages=run.pages,
                   discrepancies=run.books.discrepancies, requestedBy=run.requested_by, startedAt=run.started_at,
                   updatedAt=run.updated_at, finishedAt=run.finished_at, checks=checks)
