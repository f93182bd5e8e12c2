"""Customer profile models: the inbound event, the stored profile, and the API views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from loyalty.core.money import Currency, MinorUnits
from loyalty.core.text import Label

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
RiskLevel = Literal["R1", "R2", "R3", "R4", "R5"]


class ProfileChangedDetail(BaseModel):
    """`CustomerProfileChanged` from `bank.core` (../shared/EVENTS.md).

    Unknown fields are ignored: the contract grows only by optional fields, and an older consumer
    must keep working when the bank adds one.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: CustomerId
    changedAt: datetime
    birthday: date | None = None
    branchId: str | None = Field(default=None, min_length=1, max_length=64)
    tags: list[Tag] = Field(default_factory=list, max_length=200)
    aumMinor: MinorUnits | None = None
    currency: Currency | None = None
    riskLevel: RiskLevel | None = None
    openedAt: datetime | None = None
    channels: list[str] = Field(default_factory=list, max_length=20)
    relationshipManagerId: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _aum_has_currency(self) -> ProfileChangedDetail:
        if self.aumMinor is not None and self.currency is None:
            raise ValueError("aumMinor needs a currency")
        for name in ("changedAt", "openedAt"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone")
        return self


class CustomerProfile(BaseModel):
    """The stored profile: the newest core-banking snapshot plus operator-set tags."""

    model_config = ConfigDict(frozen=True)

    customerId: str
    changedAt: str  # fixed-width ISO UTC, compared as text in conditions
    sourceEventId: str
    birthday: str | None = None
    branchId: str | None = None
    tags: list[str] = Field(default_factory=list)
    operatorTags: list[str] = Field(default_factory=list)
    operatorTagsChangedAt: str | None = None  # fixed-width ISO UTC; scoring waits until it is this new
    aumMinor: int | None = None
    currency: str | None = None
    riskLevel: str | None = None
    openedAt: str | None = None
    channels: list[str] = Field(default_factory=list)
    relationshipManagerId: str | None = None
    # Kept by other capabilities: the member level (TierChanged from points, via customers-ingest),
    # and lifecycleStage, segments and scores, written by scoring in its own re-scoring transaction.
    tier: str | None = None
    tierChangedAt: str | None = None
    lifecycleStage: str | None = None
    segments: list[str] = Field(default_factory=list)
    scores: dict[str, int | float] = Field(default_factory=dict)
    scoredAt: str | None = None
    erased: bool = False  # a PIPL erasure's tombstone (loyalty.privacy): no capability acts on them again


class TierChangedDetail(BaseModel):
    """`TierChanged` from `loyalty.points` (events/schemas/outbound/TierChanged.json); what the profile keeps."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: CustomerId
    toTier: str = Field(min_length=1, max_length=64)
    changedAt: datetime

    @model_validator(mode="after")
    def _aware(self) -> TierChangedDetail:
        if self.changedAt.tzinfo is None:
            raise ValueError("changedAt must carry a time zone")
        return self


class SetTagsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"tags": ["wealth-prospect", "branch-event-2026"]}]})

    tags: list[Label] = Field(max_length=100, description="The engine's own tags; each one line, not blank.")
