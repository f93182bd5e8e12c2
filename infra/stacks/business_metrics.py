"""The business metrics each capability's dashboard plots, by the names the code emits them under.

Handlers emit with Powertools Metrics (`loyalty.core.observability.metrics`): namespace `Loyalty`
(POWERTOOLS_METRICS_NAMESPACE) and one dimension, `service` = the capability
(POWERTOOLS_SERVICE_NAME, set per function by `stacks/compute.py`). So
`metrics.add_metric(name="CouponsClaimed", unit=MetricUnit.Count, value=1)` in a coupons handler is
the metric below. docs/observability.md lists the same catalogue for the people writing that code.

`emitted` says whether code emits the metric today; a widget on a metric nobody emits yet says so
in its title instead of looking like a quiet day.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "Loyalty"
SERVICE_DIMENSION = "service"


@dataclass(frozen=True)
class BusinessMetric:
    name: str
    statistic: str  # how the dashboard aggregates it over a period
    meaning: str
    emitted: bool = False


@dataclass(frozen=True)
class BusinessWidget:
    title: str
    metrics: tuple[BusinessMetric, ...]
    period_minutes: int = 5


BUSINESS_WIDGETS: dict[str, tuple[BusinessWidget, ...]] = {
    "coupons": (
        BusinessWidget(
            "Coupons claimed and redeemed",
            (
                BusinessMetric("CouponsClaimed", "Sum", "coupons issued to customers by a claim (one per coupon of a bundle)", emitted=True),
                BusinessMetric("CouponsRedeemed", "Sum", "coupons redeemed (核销) against an order", emitted=True),
            ),
        ),
        BusinessWidget(
            "Budget burn (minor units per hour)",
            (
                BusinessMetric(
                    "BudgetSpentMinor",
                    "Sum",
                    "cost charged to a funder when a coupon is redeemed, in minor units of the bank's reporting currency",
                    emitted=True,
                ),
            ),
            period_minutes=60,
        ),
    ),
    "points": (
        BusinessWidget(
            "Points earned and expired",
            (
                BusinessMetric("PointsEarned", "Sum", "points booked by the earn rules (after caps)", emitted=True),
                BusinessMetric("PointsExpired", "Sum", "points removed by expiry", emitted=True),
            ),
        ),
        BusinessWidget(
            "Points liability (outstanding points)",
            (
                BusinessMetric(
                    "PointsLiability",
                    "Maximum",
                    "outstanding redeemable points across all customers, as the liability report computes them",
                    emitted=True,
                ),
            ),
            period_minutes=24 * 60,
        ),
    ),
    "campaigns": (
        BusinessWidget(
            "Rewards granted and budget burn",
            (
                BusinessMetric("RewardsGranted", "Sum", "campaign rewards granted (not control)", emitted=True),
                BusinessMetric("CampaignBudgetSpent", "Sum", "budget taken by grants, in each campaign's budget unit", emitted=True),
            ),
            period_minutes=60,
        ),
    ),
}


def widgets_for(capability: str) -> tuple[BusinessWidget, ...]:
    return BUSINESS_WIDGETS.get(capability, ())
