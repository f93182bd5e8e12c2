"""Reading the console stacks' templates: values that CloudFormation only knows at deploy time
(`Fn::GetStackOutput` across stacks and regions, joins, splits) rendered to comparable strings."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.stacks.console import ConsoleStack
from infra.stacks.console_edge import ConsoleEdgeStack
from tests.infra.infra_support import Synthesized

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
