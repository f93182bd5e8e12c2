"""The configuration in force before an operator saves any (version 0 of each model): the example of
docs/scoring.md, so that scoring works out of the box. Operators replace a model by saving a version."""

from __future__ import annotations

from typing import Any

ON_BOARDED = {"productsHeld": {"min": 1}}
SETTLED = {"productsHeld": {"min": 1}, "daysSinceOnboarding": {"min": 90}}

DEFAULT_MODELS: dict[str, Any] = {
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
