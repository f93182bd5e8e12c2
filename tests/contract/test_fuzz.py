"""Schemathesis against `make run`: every check on, as an operator and as a customer, bounded.

The run is a subprocess (`st run`), so the fuzzing and the system under test use both cores. Its
configuration is written here, each relaxed check with the reason it is wrong for this API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.local.tokens import issue
from tests.e2e.conftest import RunningSystem

ROOT = Path(__file__).resolve().parents[2]
ST = str(Path(sys.executable).with_name("st"))
EXAMPLES_PER_OPERATION = 3
# `make test` runs the bounded phases (about 400 cases a caller, under a minute); the coverage phase
# (every boundary and every wrong type of every parameter: about 10,000 cases, 3 minutes) runs with
# `make fuzz`, which sets CONTRACT_FUZZ_PHASES to all four.
PHASES = os.environ.get("CONTRACT_FUZZ_PHASES", "examples,fuzzing,stateful")
# Operations whose bodies have rules JSON Schema cannot state: a schema-valid body may still break
# them, and that is a 400 VALIDATION_ERROR naming the rule. (Rules it can state are in the schema:
# a payer for funding, a bound for a range, an adjustment that is not 0.)
CROSS_FIELD_RULES = {
    "createCouponTemplate": "an amount below its threshold, dailyStock at least the shards, a window that ends after it starts",
    "createCampaign": "a window that ends after it starts, one budget per attribute, variant weights summing to 100",
    "updateCampaign": "as createCampaign, and the body's campaignId is the path's",
    "createCampaignFromTemplate": "as createCampaign, and the parameters the template names",
    "createPointRule": "tiers ascending, caps and conditions consistent",
    "updatePointRule": "as createPointRule, and the body's ruleId is the path's",
    "savePointTiers": "levels in strictly ascending growth, distinct ids",
    "savePointsCatalogueItem": "the body's itemId is the path's; a coupon item names a template, a mall item its cash",
    "createSegment": "a range's min below its max, at least one condition",
    "updateSegment": "as createSegment, and the body's segmentId is the path's",
    "saveScoreModel": "the body is the configuration of the model the path names",
    "quotePoints": "the detail is the event the eventType names",
    "createMotRule": "the trigger's and the goal's patterns test fields their event has, with values of their kind",
    "updateMotRule": "as createMotRule",
}


def configuration(document: dict[str, Any]) -> str:
    listings = sorted(
        op["operationId"] for item in document["paths"].values() for op in item.values()
        if any(p["name"] == "cursor" for p in op.get("parameters", []))
    )
    return "\n".join([
        f"generation.max-examples = {EXAMPLES_PER_OPERATION}",
        "",
        "[checks.positive_data_acceptance]",
        "# 422: a business rule about the current state (a campaign that is not active, a template",
        "# not yet active, a customer not eligible) refuses a well-formed request: documented per route.",
        'expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]',
        "",
        "[checks.negative_data_rejection]",
        "# 413: a body over 64 KB is refused before it is parsed, whatever it holds.",
        'expected-statuses = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "429"]',
        "",
        "[[operations]]",
        "# A cursor is opaque: only the listing that returned it accepts it (400 INVALID_CURSOR), and no",
        "# schema can say which strings a listing returned.",
        f"include-operation-id = {json.dumps(listings)}",
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]',
        "",
        "[[operations]]",
        "# Rules across fields, or between the path and the body (CROSS_FIELD_RULES, each with the rule).",
        f"include-operation-id = {json.dumps(sorted(CROSS_FIELD_RULES))}",
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]',
        "",
    ])


def fuzz(system: RunningSystem, document: dict[str, Any], tmp_path: Path, token: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "schemathesis.toml"
    config.write_text(configuration(document), encoding="utf-8")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    command = [
        ST, "--config-file", str(config), "run", f"{system.api.base_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--phases", PHASES,
        "--workers", "2",
        "--request-timeout", "30",
        "--seed", "20261207",
        "--no-color",
    ]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize(
    "token",
    [issue("op-contract", ["operators", "approvers"], org_unit="hq"), issue("c-001")],
    ids=["operator", "customer"],
)
def test_schemathesis_finds_nothing(system: RunningSystem, document: dict[str, Any], tmp_path: Path, token: str) -> None:
    # Given the running system and its own document
    # When schemathesis generates requests for every operation with every check on
    result = fuzz(system, document, tmp_path, token)
    # Then every check passes
    summary = result.stdout[result.stdout.find("SUMMARY"):] if "SUMMARY" in result.stdout else result.stdout[-3000:]
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:] + "\nthe system said:\n" + system.output()[-5000:]
    print(summary)
