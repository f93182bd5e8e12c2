"""Builders for the scoring unit tests: the example configuration (the one docs/scoring.md shows),
feature vectors and feature events."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from typing import Any

from loyalty.scoring.features import Activity, CustomerFeatures
from loyalty.scoring.models import ScoringModels

AS_OF = date(2026, 11, 23)
ON_BOARDED = {"productsHeld": {"min": 1}}
SETTLED = {"productsHeld": {"min": 1}, "daysSinceOnboarding": {"min": 90}}

EXAMPLE_MODELS: dict[str, Any] = {
    "rfm": {
        "windowDays": 365,
        "recencyCuts": [7, 21, 60, 150],
        "frequencyCuts": [2, 6, 15, 40],
        "monetaryCuts": [50_000, 300_000, 1_000_000, 5_000_000],
    },
    "value": {
        "segments": {
            "mass": {"monetary365Minor": 0.0001, "aumMinor": 0.00001, "productsHeld": 5, "frequency365": 0.1},
            "affluent": {"aumMinor": 0.00002, "monetary365Minor": 0.00005, "productsHeld": 10},
        },
        "defaultSegment": "mass",
    },
    "lifecycle": {
        "rules": [
            {"stage": "potential", "when": {"productsHeld": {"max": 1}}},
            {"stage": "new", "when": {**ON_BOARDED, "daysSinceOnboarding": {"max": 90}}},
            {"stage": "high_value", "when": {**SETTLED, "recency365": {"max": 90}, "monetary365Minor": {"min": 5_000_000}}},
            {"stage": "active", "when": {**SETTLED, "recency365": {"max": 90}, "monetary365Minor": {"max": 5_000_000}}},
            {"stage": "silent", "when": {**SETTLED, "recency365": {"min": 90, "max": 365}}},
            {"stage": "churned", "when": {**SETTLED, "recency365": {"min": 365}}},
        ],
        "otherwise": "potential",
    },
    "churn": {
        "intercept": -2.0,
        "coefficients": {
            "daysSinceLastLogin": 0.02,
            "recency90": 0.015,
            "frequency90": -0.05,
            "aumTrend": -1.5,
            "campaignResponseRate": -1.0,
            "productsHeld": -0.3,
        },
    },
    "abuse": {
        "claimsIn7DaysFull": 10,
        "sharedAccountsFull": 3,
        "newAccountDays": 30,
        "newAccountClaimsFull": 5,
        "weights": {"claimVelocity": 0.4, "sharedIdentity": 0.4, "newAccountClaims": 0.2},
        "gateAtOrAbove": 60,
    },
}


def models_data(**overrides: Any) -> dict[str, Any]:
    """The example configuration with whole sections replaced, e.g. `models_data(rfm={...})`."""
    return copy.deepcopy({**EXAMPLE_MODELS, **overrides})


def models(**overrides: Any) -> ScoringModels:
    return ScoringModels.model_validate(models_data(**overrides))


QUIET = CustomerFeatures(
    recency30=30, frequency30=0, monetary30Minor=0, recency90=90, frequency90=0, monetary90Minor=0,
    recency365=365, frequency365=0, monetary365Minor=0, logins30=0, daysSinceLastLogin=365, couponClaims7=0,
    couponClaims30=0, couponRedemptions90=0, pointsEvents90=0, campaignResponseRate=0.0, aumMinor=0, aumTrend=0.0,
    productsHeld=0, daysSinceOnboarding=0, sharedIdentityAccounts=0,
)  # fmt: skip


def features(**overrides: Any) -> CustomerFeatures:
    """A customer with nothing going on (no product, no activity), with `overrides`."""
    return dataclasses.replace(QUIET, **overrides)


def activity(kind: str, day: date, amount_minor: int = 0, event_id: str | None = None) -> Activity:
    return Activity.model_validate(
        {"kind": kind, "eventId": event_id or f"{kind}-{day.isoformat()}-{amount_minor}", "day": day, "amountMinor": amount_minor}
    )
