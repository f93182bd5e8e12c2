"""Shared by the infra tests: one synthesis, and readers for the template it produces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Template

from infra.app import build
from infra.stacks import LoyaltyStack
from infra.topology import (
    Function,
    Index,
    Queue,
    Route,
    Rule,
    Schedule,
    StreamSource,
    Table,
    Topology,
    bank_event,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ALARM_EMAIL = "loyalty-oncall@bank.example"  # small_synth's alarm subscriber (context alarmEmail)
# idp_synth's bank identity provider (context identityProvider), as `-c identityProvider=...` passes it.
BANK_IDP = {"issuer": "https://idp.bank.example/", "audience": "loyalty-api"}
# console_synth's account and region: the console stacks need both (stacks/console_app.py).
CONSOLE_ENV = cdk.Environment(account="111111111111", region="ap-southeast-1")


@dataclass
class Synthesized:
    app: cdk.App
    stack: LoyaltyStack
    template: Template
    annotations: Annotations
    outdir: Path

    @cached_property
    def nested(self) -> list[cdk.NestedStack]:
        return [c for c in self.stack.node.find_all() if isinstance(c, cdk.NestedStack)]

    @cached_property
    def top_level(self) -> list[cdk.Stack]:
        """Every stack `cdk deploy --all` deploys: loyalty-<env>, and the console's two when the
        app has an account and region (stacks/console_app.py)."""
        return [c for c in self.app.node.children if isinstance(c, cdk.Stack)]

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource of the stack and of its nested stacks (the API; alarms and dashboards),
        which is what one deployment creates. Read once: every to_json() is a jsii round trip."""
        merged: dict[str, dict[str, Any]] = dict(self.template.to_json()["Resources"])
        for nested in self.nested:
            # What the parent passes in replaces the parameter, so a reference reads as in one stack.
            passed = merged[self.logical_id(nested.nested_stack_resource)]["Properties"].get("Parameters", {})
            nested_resources = _substitute(Template.from_stack(nested).to_json()["Resources"], passed)
            for logical_id, resource in nested_resources.items():
                assert logical_id not in merged, f"{logical_id} in two stacks: the merged view would hide one"
                merged[logical_id] = resource
        return merged

    def nag_rows(self) -> list[dict[str, str]]:
        """cdk-nag's report rows, from the report of every stack (nested ones too)."""
        import csv

        reports = list(self.outdir.glob("AwsSolutions-*-NagReport.csv"))
        assert len(reports) == len(self.top_level) + len(self.nested), reports
        return [row for report in reports for row in csv.DictReader(report.open())]

    def template_files(self) -> list[Path]:
        return [*(self.outdir / s.template_file for s in self.top_level), *(self.outdir / n.template_file for n in self.nested)]

    def logical_id(self, construct: Any) -> str:
        """Logical ID of an L2 construct's CloudFormation resource (or of an L1 itself), in its own stack."""
        cfn = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        stack = cdk.Stack.of(cfn)
        return str(stack.resolve(stack.get_logical_id(cfn)))

    def properties(self, construct: Any) -> dict[str, Any]:
        return self.resources[self.logical_id(construct)].get("Properties", {})  # type: ignore[no-any-return]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r.get("Properties", {}) for k, r in self.resources.items() if r["Type"] == cfn_type}

    def through_outputs(self, value: Any) -> Any:
        """A reference as the nested stack that made it sees it: `Fn::GetAtt [<nested>, Outputs.X]`
        (a value passed up from a nested stack) becomes that stack's output X's value."""
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"} and str(value["Fn::GetAtt"][1]).startswith("Outputs."):
            nested_id, output = value["Fn::GetAtt"][0], value["Fn::GetAtt"][1].removeprefix("Outputs.")
            (nested,) = (n for n in self.nested if self.logical_id(n.nested_stack_resource) == nested_id)
            return Template.from_stack(nested).to_json()["Outputs"][output]["Value"]
        return value

    def role_statements(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every IAM statement granted to a role: its inline policies and attached AWS::IAM::Policy."""
        statements: list[dict[str, Any]] = []
        role = self.resources[role_logical_id]["Properties"]
        for inline in role.get("Policies", []):
            statements += inline["PolicyDocument"]["Statement"]
        for props in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} in props.get("Roles", []):
                statements += props["PolicyDocument"]["Statement"]
        return statements

    def api_path(self, resource_ref: Any) -> str:
        """Rebuild a method's URL path by walking AWS::ApiGateway::Resource parents to the root."""
        if "Ref" not in resource_ref:  # {"Fn::GetAtt": [<api>, "RootResourceId"]}
            return ""
        props = self.resources[resource_ref["Ref"]]["Properties"]
        return f"{self.api_path(props['ParentId'])}/{props['PathPart']}"


def _substitute(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {k: _substitute(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, parameters) for v in value]
    return value


def referenced_ids(value: Any) -> set[str]:
    """Logical IDs a CloudFormation value refers to through Ref or Fn::GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]  # type: ignore[no-any-return]


def synthesize(outdir: Path, context: dict[str, Any], **build_kwargs: Any) -> Synthesized:
    # Same feature flags as `cdk synth` (cdk.json), so the tests check what gets deployed.
    app = cdk.App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    stack = build(app, **build_kwargs)
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag errors fail synthesis: show them, not a jsii trace
        report = outdir / "validation-report.json"
        details = report.read_text() if report.exists() else ""
        pytest.fail(f"synthesis failed: {exc}\n{details}", pytrace=False)
    return Synthesized(
        app=app,
        stack=stack,
        template=Template.from_stack(stack),
        annotations=Annotations.from_stack(stack),
        outdir=outdir,
    )


# A topology exercising everything the real one does not (yet): a schedule, a GSI, a function that
# publishes events and sends to a queue, one with no table access at all, and a stream consumer with
# non-default batch size and retries.
SMALL_TOPOLOGY = Topology(
    bus_name="loyalty-events",
    tables=(
        Table(
            "ledger",
            partition_key="accountId",
            sort_key="entryId",
            indexes=(Index("byCustomer", partition_key="customerId", sort_key="postedAt"),),
            stream=True,
        ),
    ),
    queues=(Queue("accrual", batch_size=50, visibility_timeout_s=120, max_receive_count=5, max_batching_window_s=5),),
    rules=(Rule("txn-posted", event_pattern=bank_event("TransactionPosted"), queue="accrual"),),
    functions=(
        Function(
            "statements",
            capability="ledger",
            module="statements",
            timeout_s=60,
            memory_mb=512,
            schedules=(Schedule("monthly-statements", "cron(0 2 1 * ? *)", timezone="Asia/Shanghai"),),
            tables={"ledger": "read"},
            publishes_events=True,
            sends_to=("accrual",),
        ),
        Function(
            "accrue",
            capability="ledger",
            module="accrue",
            queue="accrual",
            tables={"ledger": "write"},
        ),
        Function(
            "ledger-outbox",
            capability="ledger",
            module="outbox",
            stream=StreamSource("ledger", batch_size=25, max_retries=2),
            publishes_events=True,
        ),
        Function(
            "ping",
            capability="ledger",
            module="ping",
            routes=(Route("GET", "/v1/ping", "operator"),),
        ),
    ),
)
