"""dev, staging and prod differ only by CDK context: names, retention, removal, alarm target, time
zone; every taggable resource carries the cost-allocation tags."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.naming import ENV_NAMES, queue_name
from infra.stacks import settings_for
from infra.topology import TOPOLOGY, Topology
from tests.infra.infra_support import REPO_ROOT, SMALL_TOPOLOGY, Synthesized

FIXTURES = [pytest.param("synth", TOPOLOGY, id="real"), pytest.param("small_synth", SMALL_TOPOLOGY, id="small")]

# Resource types that hold data or messages: CloudFormation must keep them when prod's stack goes.
STATEFUL = ("AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::Events::Archive", "AWS::Cognito::UserPool")
# Types that bill (or hold what bills) and take tags in CloudFormation: each must be tagged.
MUST_BE_TAGGED = (
    "AWS::Lambda::Function",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::Events::EventBus",
    "AWS::Logs::LogGroup",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::WAFv2::WebACL",
    "AWS::Cognito::UserPool",
)


def _tags(props: dict[str, Any]) -> dict[str, Any]:
    if "UserPoolTags" in props:
        return dict(props["UserPoolTags"])
    return {t["Key"]: t["Value"] for t in props.get("Tags", [])}


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_stateful_resources_are_retained_in_prod_only(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    expected = "Retain" if s.stack.settings.is_prod else "Delete"
    for cfn_type in STATEFUL:
        ids = s.of_type(cfn_type)
        assert ids, cfn_type
        for logical_id in ids:
            assert s.resources[logical_id].get("DeletionPolicy") == expected, (cfn_type, logical_id)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_physical_names_carry_the_environment(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given the names we choose / Then each starts with loyalty-<env>, so environments never clash in
    one account's console (the bus keeps its contract name, loyalty-events)."""
    s: Synthesized = request.getfixturevalue(fixture)
    prefix = s.stack.settings.prefix
    named = {
        "AWS::SQS::Queue": "QueueName",
        "AWS::CloudWatch::Alarm": "AlarmName",
        "AWS::CloudWatch::Dashboard": "DashboardName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::Events::Archive": "ArchiveName",
        "AWS::KMS::Alias": "AliasName",
        "AWS::ApiGateway::RestApi": "Name",
        "AWS::Cognito::UserPool": "UserPoolName",
    }
    for cfn_type, field in named.items():
        for props in s.of_type(cfn_type).values():
            name = props[field].removeprefix("alias/")
            assert name == prefix or name.startswith(f"{prefix}-"), (cfn_type, name)
    expected_queues = {queue_name(s.stack.settings.name, q.name) for q in topology.queues}
    assert expected_queues <= {p["QueueName"] for p in s.of_type("AWS::SQS::Queue").values()}


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_every_taggable_resource_carries_the_cost_allocation_tags(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    tagged_types = set()
    for resource in s.resources.values():
        props = resource.get("Properties", {})
        if "Tags" in props or "UserPoolTags" in props:
            tagged_types.add(resource["Type"])
            tags = _tags(props)
            assert tags.get("project") == "loyalty", resource["Type"]
            assert tags.get("environment") == s.stack.settings.name, resource["Type"]
    assert set(MUST_BE_TAGGED) <= tagged_types


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_capability_tag_follows_the_topology(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given a function / Then it, its role and its log group (and the queues it consumes, and its
    capability's dashboard) are tagged with its capability, so cost splits by capability."""
    s: Synthesized = request.getfixturevalue(fixture)
    for fn in topology.functions:
        for construct in (s.stack.compute.functions[fn.name], s.stack.compute.roles[fn.name], s.stack.compute.log_groups[fn.name]):
            assert _tags(s.properties(construct))["capability"] == fn.capability
        if fn.queue:
            for queue in (s.stack.messaging.queues[fn.queue], s.stack.messaging.dead_letter_queues[fn.queue]):
                assert _tags(s.properties(queue))["capability"] == fn.capability
    for capability, dashboard in s.stack.dashboards.dashboards.items():
        assert _tags(s.properties(dashboard))["capability"] == capability


def test_environment_knobs() -> None:
    """Given each environment / Then its archive retention grows towards prod, and alarmEmail must be an address."""
    retention = [settings_for(env, "Asia/Shanghai").archive_retention_days for env in ENV_NAMES]
    assert retention == sorted(retention) and retention[-1] >= 365
    assert settings_for("prod", "Asia/Shanghai", alarm_email="ops@bank.example").alarm_email == "ops@bank.example"
    with pytest.raises(ValueError, match="alarmEmail"):
        settings_for("prod", "Asia/Shanghai", alarm_email="not-an-address")


def test_queue_names_local_and_per_environment() -> None:
    assert queue_name(None, "coupon-commands-dlq") == "coupon-commands-dlq"  # the local cloud
    assert queue_name("prod", "coupon-commands-dlq") == "loyalty-prod-coupon-commands-dlq"


def test_makefile_passes_context_and_redrives_locally_unless_env_is_given() -> None:
    """Given the Makefile / Then deploy and synth take CONTEXT (e.g. -c alarmEmail=...), and
    `make redrive` targets AWS only when ENV is given on the command line (the default ENV=dev must
    not send a local redrive to an AWS account)."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target in ("synth", "deploy"):
        recipe = re.search(rf"^{target}:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert recipe and "-c env=$(ENV) $(CONTEXT)" in recipe.group(1), target
    redrive = re.search(r"^redrive:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert redrive and "-m infra.ops.redrive" in redrive.group(1)
    assert "$(filter command line,$(origin ENV))" in redrive.group(1)


def test_a_topology_queue_cannot_take_the_bus_dlq_name() -> None:
    """Given a queue whose DLQ would be named like the bus's own DLQ / Then synthesis refuses it."""
    import dataclasses

    from infra.stacks.validation import validate_topology
    from infra.topology import Queue

    clash = dataclasses.replace(SMALL_TOPOLOGY, queues=(*SMALL_TOPOLOGY.queues, Queue("bus")))
    with pytest.raises(ValueError, match="reserved for the bus's own DLQ"):
        validate_topology(clash)
