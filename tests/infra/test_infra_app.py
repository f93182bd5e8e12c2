"""The app's inputs: context, cdk.json, topology validation, and the local asset layout."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.assertions import Match

from infra.stacks import SourceLayout, settings_for
from infra.stacks.validation import validate_topology
from infra.topology import DEFAULT_BANK_TIME_ZONE, TOPOLOGY, Function, Queue
from tests.infra.infra_support import REPO_ROOT, SMALL_TOPOLOGY, Synthesized


def test_cdk_json_runs_the_app_into_cdk_out() -> None:
    config = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert config["app"] == ".venv/bin/python infra/app.py"
    assert config["output"] == "cdk.out"
    assert config["context"]["@aws-cdk/aws-iam:minimizePolicies"] is True


def test_default_environment_is_dev_in_the_topology_time_zone(synth: Synthesized) -> None:
    """Given no context / Then env=dev, the stack loyalty-dev, the topology's default time zone."""
    assert synth.stack.stack_name == "loyalty-dev"
    assert synth.stack.settings.name == "dev"
    assert synth.stack.settings.bank_time_zone == DEFAULT_BANK_TIME_ZONE
    assert synth.stack.termination_protection is False


def test_prod_context_is_honoured(small_synth: Synthesized) -> None:
    assert small_synth.stack.stack_name == "loyalty-prod"
    assert small_synth.stack.termination_protection is True
    assert small_synth.stack.settings.removal_policy == RemovalPolicy.RETAIN


@pytest.mark.parametrize(("env", "tz"), [("qa", "Asia/Shanghai"), ("dev", "Mars/Olympus_Mons")])
def test_bad_context_fails_fast(env: str, tz: str) -> None:
    with pytest.raises(ValueError):
        settings_for(env, tz)


def test_real_topology_is_valid() -> None:
    validate_topology(TOPOLOGY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: dataclasses.replace(t, functions=(*t.functions, Function("x", "c", "m", tables={"nope": "read"}))),
            "unknown table",
        ),
        (
            lambda t: dataclasses.replace(t, functions=(*t.functions, Function("x", "c", "m", sends_to=("nope",)))),
            "unknown queue",
        ),
        (lambda t: dataclasses.replace(t, functions=(*t.functions, t.functions[0])), "duplicate function"),
        (
            lambda t: dataclasses.replace(t, queues=(Queue("accrual", visibility_timeout_s=5),)),
            "visibility timeout is shorter",
        ),
    ],
    ids=["unknown-table", "unknown-queue", "duplicate-function", "visibility-timeout"],
)
def test_invalid_topology_fails_at_synth(change, message: str) -> None:  # type: ignore[no-untyped-def]
    """Given a topology a deploy would reject / Then synthesis refuses it with a clear message."""
    with pytest.raises(ValueError, match=message):
        validate_topology(change(SMALL_TOPOLOGY))


def test_missing_dependency_layer_is_created_and_flagged(small_synth: Synthesized, small_source: SourceLayout) -> None:
    """Given no build/dependency-layer / When synthesized / Then a placeholder exists and a warning says so."""
    assert (small_source.dependency_layer_dir / "python").is_dir()
    assert (small_source.dependency_layer_dir / "README.md").is_file()
    warnings = small_synth.annotations.find_warning("*", Match.string_like_regexp(".*dependency-layer is empty.*"))
    assert len(warnings) == 1


def test_function_asset_excludes_caches(small_synth: Synthesized) -> None:
    """Given a __pycache__ in functions/ledger / Then the staged asset does not contain it."""
    fn = small_synth.properties(small_synth.stack.compute.functions["statements"])
    staged = small_synth.outdir / f"asset.{fn['Code']['S3Key'].removesuffix('.zip')}"
    assert (staged / "statements.py").is_file()
    assert not (staged / "__pycache__").exists()


def test_make_deploy_builds_the_dependency_layer_for_the_lambda_python() -> None:
    """Given the Makefile's pip --python-version / Then it is the Lambda runtime's version.

    The dependency layer holds compiled wheels (pydantic-core): built for another CPython they do
    not import. The Makefile reads the version from infra.topology.LAMBDA_PYTHON_VERSION.
    """
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "--python-version $(LAMBDA_PYTHON)" in makefile
    assert "from infra.topology import LAMBDA_PYTHON_VERSION" in makefile
    assert not re.findall(r"--python-version[ =]+[0-9]", makefile), "no literal version: it would drift"


def test_every_stack_stays_within_cloudformations_limits(synth: Synthesized) -> None:
    """Given the real topology / Then the stack and each nested stack keep a margin under
    CloudFormation's 500 resources, and under 200 parameters and 200 outputs each."""
    from aws_cdk.assertions import Template

    for stack in [synth.stack, *synth.nested]:
        template = (synth.template if stack is synth.stack else Template.from_stack(stack)).to_json()
        assert len(template["Resources"]) <= 450, (stack.node.id, len(template["Resources"]))
        assert len(template.get("Parameters", {})) <= 180 and len(template.get("Outputs", {})) <= 180, stack.node.id
