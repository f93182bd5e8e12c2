"""Reading the console stacks' templates: values that CloudFormation only knows at deploy time
(`Fn::GetStackOutput` across stacks and regions, joins, splits) rendered to comparable strings."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Stack
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.stacks import settings_for
from infra.stacks.console import API_PATH_PATTERN, ConsoleApi, ConsoleDomain, ConsoleStack
from infra.stacks.console_app import CONSOLE_DIST
from infra.stacks.console_edge import EDGE_REGION, ConsoleEdgeStack
from infra.topology import DEFAULT_BANK_TIME_ZONE
from tests.infra.infra_support import CONSOLE_ENV, Synthesized, cdk_json_context

PSEUDO = {"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}


class Rendered:
    """Renders a CloudFormation value as a deploy would, with every resource attribute left as a
    placeholder: `Ref X` is `<X>`, `GetAtt X.Y` is `<X.Y>`. Outputs are followed: `Fn::GetStackOutput`
    to the producing stack's output, `GetAtt <nested>.Outputs.Z` into the nested stack."""

    def __init__(self, s: Synthesized):
        self.s = s

    @cached_property
    def templates(self) -> dict[str, Mapping[str, Any]]:
        return {stack.stack_name: Template.from_stack(stack).to_json() for stack in self.s.top_level}

    @cached_property
    def nested(self) -> dict[str, Mapping[str, Any]]:
        return {self.s.logical_id(n.nested_stack_resource): Template.from_stack(n).to_json() for n in self.s.nested}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        ((fn, arg),) = value.items()
        if fn == "Fn::Join":
            return arg[0].join(self(part) for part in arg[1])
        if fn == "Fn::Split":
            return self(arg[1]).split(arg[0])
        if fn == "Fn::Select":
            return self(arg[1])[int(arg[0])]
        if fn == "Ref":
            return PSEUDO.get(arg, f"<{arg}>")
        if fn == "Fn::GetStackOutput":
            return self(self.templates[arg["StackName"]]["Outputs"][arg["OutputName"]]["Value"])
        if fn == "Fn::GetAtt" and arg[0] in self.nested and arg[1].startswith("Outputs."):
            return self(self.nested[arg[0]]["Outputs"][arg[1].removeprefix("Outputs.")]["Value"])
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        raise AssertionError(f"cannot render {value!r}")

    def api_url(self) -> str:
        """loyalty-<env>'s API URL as its own (nested) API stack writes it, rendered."""
        rest_api = self.s.stack.api.rest_api
        return str(self(Stack.of(rest_api).resolve(rest_api.url)))


def console_stacks(s: Synthesized) -> tuple[ConsoleStack, ConsoleEdgeStack]:
    (site,) = (st for st in s.top_level if isinstance(st, ConsoleStack))
    (edge,) = (st for st in s.top_level if isinstance(st, ConsoleEdgeStack))
    return site, edge


def resources_of(stack: Stack, cfn_type: str) -> dict[str, dict[str, Any]]:
    resources = Template.from_stack(stack).to_json()["Resources"]
    return {k: r.get("Properties", {}) for k, r in resources.items() if r["Type"] == cfn_type}


def only(stack: Stack, cfn_type: str) -> dict[str, Any]:
    (props,) = resources_of(stack, cfn_type).values()
    return props


# Managed CloudFront policies, by the IDs CloudFront gives them.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def standalone_api(env_name: str) -> ConsoleApi:
    """The API as literals: the console stacks read loyalty-<env>'s values at deploy time anyway."""
    return ConsoleApi(
        url=f"https://abc123.execute-api.{CONSOLE_ENV.region}.amazonaws.com/{env_name}/", rest_api_id="abc123", stage_name=env_name
    )


def standalone_console(outdir: Path, env_name: str, domain: ConsoleDomain | None = None) -> ConsoleStack:
    """Only the console's two stacks (`console`, `console-edge`) in one environment, with cdk-nag, synthesized into outdir."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    settings = settings_for(env_name, DEFAULT_BANK_TIME_ZONE)
    edge = ConsoleEdgeStack(app, "console-edge", settings=settings, env=cdk.Environment(account=CONSOLE_ENV.account, region=EDGE_REGION))
    site = ConsoleStack(
        app,
        "console",
        settings=settings,
        api=standalone_api(env_name),
        user_pool_id=f"{CONSOLE_ENV.region}_AbCdEf123",
        web_acl_arn=edge.web_acl.attr_arn,
        log_bucket=edge.log_bucket,
        dist=CONSOLE_DIST,
        domain=domain,
        env=CONSOLE_ENV,
    )
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()
    return site


def api_behavior(site: ConsoleStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """The distribution's `/v1/*` cache behavior and the origin it targets."""
    config = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]
    (behavior,) = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == API_PATH_PATTERN]
    (origin,) = [o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    return behavior, origin
