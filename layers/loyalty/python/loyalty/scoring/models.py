"""Score model configurations as data. The caller saves each as a new version and keeps the active one
in force when a new one is refused; these classes only say what a valid configuration is."""

from __future__ import annotations

from itertools import combinations, pairwise
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from loyalty.scoring.features import FeatureName

# Strict: 1 and 1.5 are numbers; "1.5", true, NaN and infinities are refused.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Weight = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
SegmentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Stage = Literal["potential", "new", "active", "high_value", "silent", "churned"]
STAGES: tuple[Stage, ...] = get_args(Stage)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ascending(cuts: list[int]) -> list[int]:
    if any(later < earlier for earlier, later in pairwise(cuts)):
        raise ValueError(f"cut points must be ascending (equal neighbours allowed, from tied values): {cuts}")
    return cuts


CutPoints = Annotated[list[StrictInt], Field(min_length=4, max_length=4), AfterValidator(_ascending)]


class RfmModel(Strict):
    """1 to 5 per dimension from the 20/40/60/80th percentiles (`batch.quintile_cut_points`, recomputed
    nightly). A value equal to a cut point takes the worse of the two scores; a lower recency is better."""

    windowDays: Literal[30, 90, 365] = 365
    recencyCuts: CutPoints
    frequencyCuts: CutPoints
    monetaryCuts: CutPoints


class ValueModel(Strict):
    """客户贡献分值: Σ weight × feature (money in minor units), with the weights of the customer's segment,
    or of `defaultSegment` for a segment without its own. Summed in the order the weights are listed."""

    segments: Annotated[
        dict[SegmentId, Annotated[dict[FeatureName, Number], Field(min_length=1)]], Field(min_length=1, max_length=50)
    ]
    defaultSegment: SegmentId

    @model_validator(mode="after")
    def _default_known(self) -> ValueModel:
        if self.defaultSegment not in self.segments:
            raise ValueError(f"defaultSegment {self.defaultSegment!r} has no weights")
        return self


class Range(Strict):
    """Whole numbers in [min, max): min inclusive, max exclusive; a missing bound is open."""

    min: StrictInt | None = None
    max: StrictInt | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Range:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"empty range: min {self.min} must be below max {self.max}")
        return self

    def intersection(self, other: Range) -> Range | None:
        low = max((b for b in (self.min, other.min) if b is not None), default=None)
        high = min((b for b in (self.max, other.max) if b is not None), default=None)
        if low is not None and high is not None and low >= high:
            return None
        return Range.model_construct(min=low, max=high)

    def __str__(self) -> str:
        return f"[{'-∞' if self.min is None else self.min}, {'∞' if self.max is None else self.max})"


ANY = Range()


class StageRule(Strict):
    """A customer is in `stage` when every named feature is in its range (features not named: any value)."""

    stage: Stage
    when: dict[FeatureName, Range]


class LifecycleModel(Strict):
    """Rules of different stages must not overlap: two rules overlap when, on every feature either names,
    their ranges intersect, for then one customer can match both. So at most one stage matches, whatever
    the order; a customer no rule matches is in `otherwise`."""

    rules: Annotated[list[StageRule], Field(min_length=1, max_length=50)]
    otherwise: Stage

    @model_validator(mode="after")
    def _no_overlap(self) -> LifecycleModel:
        for (i, a), (j, b) in combinations(enumerate(self.rules), 2):
            if a.stage == b.stage:
                continue
            features = sorted(a.when.keys() | b.when.keys())
            common = {f: a.when.get(f, ANY).intersection(b.when.get(f, ANY)) for f in features}
            if all(r is not None for r in common.values()):
                where = ", ".join(f"{f} in {r}" for f, r in common.items()) or "everywhere"
                raise ValueError(f"rules {i} ({a.stage}) and {j} ({b.stage}) overlap: both match where {where}")
        return self


class ChurnModel(Strict):
    """Logistic: P(churn) = 1 / (1 + e^−z), z = intercept + Σ coefficient × feature (in the order listed),
    reported in basis points."""

    intercept: Number
    coefficients: Annotated[dict[FeatureName, Number], Field(min_length=1)]


class AbuseWeights(Strict):
    claimVelocity: Weight
    sharedIdentity: Weight
    newAccountClaims: Weight

    @model_validator(mode="after")
    def _some_weight(self) -> AbuseWeights:
        if self.claimVelocity + self.sharedIdentity + self.newAccountClaims <= 0:
            raise ValueError("at least one abuse weight must be above 0")
        return self


class AbuseModel(Strict):
    """0 to 100: the weighted mean of three signals, each a count over the count that makes it full
    (capped at 1). Coupons and campaigns refuse a customer at or above `gateAtOrAbove`."""

    claimsIn7DaysFull: PositiveInt  # coupon claims in 7 days: claim velocity
    sharedAccountsFull: PositiveInt  # other accounts sharing a device or phone hash
    newAccountDays: PositiveInt  # an account onboarded fewer days ago than this is new...
    newAccountClaimsFull: PositiveInt  # ...and its coupon claims in 30 days count
    weights: AbuseWeights
    gateAtOrAbove: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)]


class ScoringModels(Strict):
    """One configuration of every score, as the nightly batch and the real-time updates use it."""

    rfm: RfmModel
    value: ValueModel
    lifecycle: LifecycleModel
    churn: ChurnModel
    abuse: AbuseModel
