"""What the API answers about campaigns (response models). The stored records are in `records` and
`store`; a campaign's definition is `model.CampaignDefinition`, which its view extends."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from loyalty.campaigns.model import CampaignDefinition
from loyalty.core.api_responses import SparseView

Status = Literal["draft", "pending_approval", "approved", "paused", "ended"]
# An approved campaign is scheduled, active or ended by its window; the other states are what they say.
EffectiveStatus = Literal["draft", "pending_approval", "scheduled", "active", "paused", "ended"]


class _AsSaved(BaseModel):
    """Leaves out what the engine left out (approval, pause), while the definition's own nulls (no
    quiet hours) are sent as saved: `SparseView` would drop those too."""

    # No return annotation: pydantic would take it for the serialized schema (a bare object).
    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None or k in self.model_fields_set}


# ---- operators: definitions, lifecycle, runs, uploads, audit, report --------------------------------


class CampaignView(CampaignDefinition, _AsSaved):
    """A campaign's definition, with its lifecycle: the stored status, what it means right now, and
    who wrote and approved the current version."""

    status: Status = Field(description="The lifecycle state: draft → pending_approval → approved; paused (kill switch); ended.")
    effectiveStatus: EffectiveStatus = Field(
        description="What the campaign is right now: an approved one is scheduled, active or ended by its window.")
    version: int = Field(description="Each save of the draft is a new version.")
    author: str = Field(description="The operator who saved the current version; they cannot approve it.")
    updatedAt: str = Field(description="The last save or transition (UTC).")
    approvedBy: str | None = None
    approvedAt: str | None = None
    pausedReason: Literal["operator", "budget_exhausted"] | None = Field(
        default=None, description="Why it was last paused; kept after a resume.")


class CampaignList(BaseModel):
    items: list[CampaignView]


class TemplateInfo(BaseModel):
    template: str = Field(description="The name to use in `POST /v1/admin/campaign-templates/{template}/campaigns`.")
    description: str = Field(description="What the campaign does, and the parameters it takes.")


class TemplateList(BaseModel):
    items: list[TemplateInfo]


class RunView(SparseView):
    """An audience run: a manual fire, a scheduled slot or a bank scheduler's request."""

    runId: str
    campaignId: str
    status: Literal["scheduled", "running", "paged", "completed", "cancelled_not_active"] = Field(
        description="paged: every page is handed to the workers, some still granting; completed: every customer processed.")
    requestedBy: str
    startedAt: str
    total: int = Field(description="Customers found in the audience so far.")
    processed: int
    granted: int
    finishedPagingAt: str | None = None
    progress: str = Field(description="processed/total, e.g. 350/500.")


class UploadProgress(BaseModel):
    """What an upload's batches add up to."""

    batches: int
    imported: int = Field(description="Ids now in the campaign's audience.")
    unknown: int = Field(description="Ids with no profile (or erased).")
    invalid: int = Field(description="Entries that are not customer ids.")
    lastBatchAt: str | None


class BatchResult(BaseModel):
    received: int = Field(description="Entries in this batch, without duplicates, header or blank lines.")
    imported: int
    unknown: list[str] = Field(description="Well-formed ids with no profile (or erased): not imported.")
    invalid: list[str] = Field(description="Entries that are not customer ids (each cut to 80 characters).")


class UploadResult(BaseModel):
    uploadId: str
    batch: BatchResult
    progress: UploadProgress


class CampaignAuditEntry(SparseView):
    """One change to the campaign: by an operator, or by the engine (`system`, a budget exhausted)."""

    who: str
    at: str
    action: Literal["create", "edit", "submit", "approve", "reject", "pause", "resume", "end"]
    before: Status | None = None
    after: Status
    note: str | None = None
    version: int | None = Field(default=None, description="The version the change applied to.")


class CampaignAudit(BaseModel):
    items: list[CampaignAuditEntry] = Field(description="Oldest first.")


class ArmReport(BaseModel):
    arm: str = Field(description="`control`, or a variant id.")
    targeted: int
    granted: int = Field(description="Grants standing: every reward delivered, or on its way.")
    notified: int = Field(description="Notifications requested (a grant's, once its rewards were delivered).")
    notificationsDelivered: int = Field(description="Of those, delivered by their provider (NotificationDelivered receipts).")
    notificationsFailed: int = Field(description="Of those, failed for good: no consent, a frequency cap, the provider's refusal "
                                                 "(NotificationFailed receipts).")
    redeemed: int
    cancelled: int = Field(description="Grants undone before any reward was delivered: their whole cost went back to the budget.")
    compensating: int = Field(description="Grants being undone: a reward was refused, the others' compensations are on their way.")
    compensated: int = Field(description="Grants undone: every reward delivered was taken back, and their cost went back to the budget.")
    partlyDelivered: int = Field(description="Grants undone, but a reward could not be taken back (a coupon already redeemed): it "
                                             "stays with the customer, and its cost stays in `cost`.")
    cost: int = Field(description="In the budget's unit: what the budget spent on this arm, net of what compensations gave back.")
    spendPerTargetedMinor: float | None = Field(description="Card spend per targeted customer since targeted (`spendCurrency`).")
    upliftVsControl: float | None = Field(description="(spend per targeted − control's) / control's; null for control, no data.")


class BudgetUse(BaseModel):
    limit: int
    spent: int
    left: int


class AttributeShare(BudgetUse):
    attribute: str
    value: str


class BudgetReport(SparseView):
    total: BudgetUse
    daily: BudgetUse | None = None
    weekly: BudgetUse | None = None
    monthly: BudgetUse | None = None
    byAttribute: list[AttributeShare] | None = Field(default=None, description="Each value's share, for the attribute budgets.")


class Forecast(BaseModel):
    """A straight line from the average burn since the window opened."""

    burnPerDay: float
    exhaustsAt: str | None
    lastsTheWindow: bool


class CampaignReport(BaseModel):
    campaignId: str
    status: EffectiveStatus
    metric: Literal["card_spend"]
    budgetUnit: Literal["minor", "rewards"]
    currency: str | None = Field(description="The budget's currency; null for a budget in rewards.")
    spendCurrency: str = Field(description="The currency card spend is counted in for the uplift.")
    arms: list[ArmReport]
    budget: BudgetReport
    forecast: Forecast


# ---- customers: the task centre and referrals -------------------------------------------------------


class _Task(BaseModel):
    campaignId: str
    name: str
    eventType: str = Field(description="The bank event that counts.")
    endsAt: str


class TargetTask(_Task):
    """`target` matching events within the campaign's days earn the reward; then counting starts again."""

    kind: Literal["target"]
    done: int = Field(description="Matching events in the current cycle, still within its days.")
    target: int
    completed: int = Field(description="Cycles completed (rewards earned) so far.")


class StreakTask(_Task):
    """签到: every `target` consecutive days of check-ins earn the reward."""

    kind: Literal["streak"]
    streak: int = Field(description="Consecutive days checked in, up to today or yesterday.")
    target: int
    toNextReward: int


class TaskCentre(BaseModel):
    customerId: str
    tasks: list[Annotated[TargetTask | StreakTask, Field(discriminator="kind")]]


class InviteCode(BaseModel):
    customerId: str
    code: str = Field(description="8 characters, without I, O, 0 or 1; the same every time.")
    createdAt: str


class Referral(SparseView):
    campaignId: str
    invitee: str = Field(description="Masked: the invitee is another customer.")
    status: Literal["bound", "refused", "qualified"]
    boundAt: str
    reason: Literal["self_referral", "shared_identity", "unknown_code"] | None = None
    qualifiedAt: str | None = None


class Referrals(BaseModel):
    customerId: str
    code: str | None = Field(description="The customer's invite code; null until they ask for one.")
    referrals: list[Referral]
