"""What the scoring operator API answers (response models; the stored items are the store's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty.scoring.models import AbuseModel, ChurnModel, LifecycleModel, RfmModel, Stage, ValueModel
from loyalty.scoring.segments import ScoreName, SegmentDefinition

ModelName = Literal["rfm", "value", "lifecycle", "churn", "abuse"]
# A stored score: whole numbers stay whole, `value` and `abuseRisk` have up to 2 decimals.
ScoreValue = int | float


class ScoreModelView(BaseModel):
    """One version of a score model's configuration."""

    model: ModelName
    version: int = Field(description="0 is the built-in default, in force until an operator saves a version.")
    config: RfmModel | ValueModel | LifecycleModel | ChurnModel | AbuseModel = Field(
        description="The configuration, of the model's own schema (`RfmModel` for rfm, `ValueModel` for value, ...)."
    )
    updatedBy: str = Field(description="The operator who saved it; `default` for version 0, `nightly:<run>` for cut points the nightly run recomputed.")
    updatedAt: str | None = Field(description="When it was saved (UTC); null for version 0.")


class SegmentView(SegmentDefinition):
    """A segment's definition, as of one version."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=None)  # not the request's example
    version: int = Field(description="1 for the definition it was created with, one more per update.")
    updatedBy: str
    updatedAt: str = Field(description="When this version was saved (UTC).")


class SegmentList(BaseModel):
    items: list[SegmentView] = Field(description="The current version of each segment.")
    nextCursor: str | None


class SegmentMember(BaseModel):
    customerId: str
    since: str = Field(description="When the customer entered the segment (UTC).")


class SegmentMembersPage(BaseModel):
    items: list[SegmentMember]
    nextCursor: str | None


class SegmentEstimate(BaseModel):
    """The segment's rule applied to a sample of scored customers, as of each one's last scoring."""

    segmentId: str
    version: int = Field(description="The version of the rule applied.")
    sampled: int = Field(description="Scored customers read.")
    matched: int = Field(description="Of those, the ones the rule holds for.")
    exact: bool = Field(description="Whether every scored customer was read (then `estimatedMembers` is `matched`).")
    estimatedMembers: int = Field(description="`matched`, scaled to the customers the last nightly run saw when the sample is not exact.")


class FeaturesView(BaseModel):
    """The features the scores read, as of `asOf`. Money in minor units; a recency is the window's
    length in days when nothing happened in it."""

    asOf: str = Field(description="The business day (YYYY-MM-DD).")
    recency30: int
    frequency30: int
    monetary30Minor: int
    recency90: int
    frequency90: int
    monetary90Minor: int
    recency365: int
    frequency365: int
    monetary365Minor: int
    logins30: int
    daysSinceLastLogin: int = Field(description="365 when no login is kept.")
    couponClaims7: int
    couponClaims30: int
    couponRedemptions90: int
    pointsEvents90: int
    campaignResponseRate: float = Field(description="Responses over offers in 365 days, at most 1; 0 without offers.")
    aumMinor: int = Field(description="The newest monthly average AUM.")
    aumTrend: float = Field(description="The 3-month AUM slope over its mean, per month.")
    productsHeld: int
    daysSinceOnboarding: int
    sharedIdentityAccounts: int = Field(description="Other customers sharing a device or phone, as the last scoring counted them.")


class CustomerScoresView(BaseModel):
    """A customer's scores as of their last scoring, and their features today."""

    customerId: str
    scores: dict[ScoreName, ScoreValue]
    lifecycleStage: Stage | None
    abuseGated: bool | None = Field(description="Whether the abuse score is at or above the gate: coupons and campaigns refuse them.")
    segments: list[str] = Field(description="The ids of the segments the customer is in.")
    modelVersions: dict[ModelName, int] = Field(description="The version of each model that scored them.")
    scoredAt: str | None = Field(description="When they were last scored (UTC).")
    asOf: str | None = Field(description="The business day the scores are as of (YYYY-MM-DD).")
    version: int | None = Field(description="The scoring state's version: one more per re-scoring.")
    features: FeaturesView


class RfmCutsView(BaseModel):
    windowDays: int
    recencyCuts: list[int]
    frequencyCuts: list[int]
    monetaryCuts: list[int]


class RunProgressView(BaseModel):
    """A nightly scoring run: the cut points first, then every scored customer re-scored, in segments."""

    runId: str = Field(description="The business day it scores as of (YYYY-MM-DD).")
    status: Literal["cuts", "rescoring", "done", "superseded"] = Field(
        description="`superseded`: a new day's run started before this one finished."
    )
    asOf: str
    startedAt: str
    finishedAt: str | None
    customers: int = Field(description="Scored customers the run saw when it computed the cut points.")
    processed: int
    written: int
    skipped: int
    unchanged: int
    segmentsDone: int
    totalSegments: int
    rfmVersion: int | None = Field(description="The rfm model version the run scores with (set once the cut points are computed).")
    cutPoints: RfmCutsView | None


class ManagerBook(BaseModel):
    """A relationship manager's book: their customers and the sum and mean of their value scores
    (客户贡献分值), as of each customer's last scoring."""

    managerId: str
    customers: int
    totalValue: float
    meanValue: float | None = Field(description="Null for a book without customers.")


class ManagerBooksPage(BaseModel):
    items: list[ManagerBook] = Field(description="Whole books, ordered by manager id within each shard of the index, not overall.")
    nextCursor: str | None
