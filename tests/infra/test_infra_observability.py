"""Alarms to an encrypted SNS topic, and one dashboard per capability, all derived from the topology."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from infra.stacks.alarms import oldest_message_age_threshold_s
from infra.stacks.business_metrics import NAMESPACE, widgets_for
from infra.stacks.dashboards import capabilities
from infra.topology import TOPOLOGY, Topology
from tests.infra.infra_support import ALARM_EMAIL, SMALL_TOPOLOGY, Synthesized

FIXTURES = [pytest.param("synth", TOPOLOGY, id="real"), pytest.param("small_synth", SMALL_TOPOLOGY, id="small")]


def expected_alarms(topology: Topology) -> set[str]:
    """Every alarm the topology implies, by short name (the alarm is `loyalty-<env>-<short name>`)."""
    names = {f"{fn.name}-{kind}" for fn in topology.functions for kind in ("errors", "throttles")}
    names |= {f"{q.dlq_name}-messages" for q in topology.queues} | {f"{q.name}-age" for q in topology.queues}
    names |= {f"{fn.stream.failure_queue}-messages" for fn in topology.functions if fn.stream}
    names |= {f"rule-{r.name}-failed" for r in topology.rules}
    names |= {alarm.name for fn in topology.functions for alarm in fn.alarms}
    if any(fn.capability == "campaigns" for fn in topology.functions):
        names.add("campaign-budget-burn")
    return names | {"bus-dlq-messages", "api-5xx"}


def _alarm(s: Synthesized, short_name: str) -> dict[str, Any]:
    return s.properties(s.stack.alarms.alarms[short_name])


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_alarms_are_exactly_what_the_topology_implies(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given the topology / Then one alarm per function error and throttle, DLQ, queue age, stream
    failure queue, rule, plus the bus DLQ and API 5xx; named per env; all notify the alarm topic."""
    s: Synthesized = request.getfixturevalue(fixture)
    assert set(s.stack.alarms.alarms) == expected_alarms(topology)
    alarms = s.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(expected_alarms(topology))
    topic = {"Ref": s.logical_id(s.stack.alarms.topic)}
    for props in alarms.values():
        assert props["AlarmName"].startswith(f"{s.stack.settings.prefix}-")
        assert props["AlarmActions"] == [topic]
        assert props["TreatMissingData"] == "notBreaching"
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert "docs/operations.md" in props["AlarmDescription"]


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_function_alarms_watch_that_function(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    for fn in topology.functions:
        dims = [{"Name": "FunctionName", "Value": {"Ref": s.logical_id(s.stack.compute.functions[fn.name])}}]
        for kind, metric in (("errors", "Errors"), ("throttles", "Throttles")):
            alarm = _alarm(s, f"{fn.name}-{kind}")
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == ("AWS/Lambda", metric, dims)
            assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_any_message_on_a_dead_letter_queue_alarms(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given every DLQ (of a queue, of a stream consumer, of the bus) / Then one visible message alarms."""
    s: Synthesized = request.getfixturevalue(fixture)
    m = s.stack.messaging
    watched = {f"{q.dlq_name}-messages": m.dead_letter_queues[q.name] for q in topology.queues}
    watched |= {f"{name}-messages": queue for name, queue in m.failure_queues.items()}
    watched["bus-dlq-messages"] = m.bus_dead_letter_queue
    for short_name, queue in watched.items():
        alarm = _alarm(s, short_name)
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [s.logical_id(queue), "QueueName"]}}]
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 1)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_a_queue_whose_oldest_message_outlives_its_retries_alarms(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    for q in topology.queues:
        alarm = _alarm(s, f"{q.name}-age")
        assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert alarm["Threshold"] == oldest_message_age_threshold_s(q) >= q.visibility_timeout_s * q.max_receive_count


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_rule_and_api_alarms(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    for rule in topology.rules:
        alarm = _alarm(s, f"rule-{rule.name}-failed")
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
        assert {"Name": "RuleName", "Value": {"Ref": s.logical_id(s.stack.messaging.rules[rule.name])}} in alarm["Dimensions"]
    api = _alarm(s, "api-5xx")
    assert (api["Namespace"], api["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert {d["Name"] for d in api["Dimensions"]} == {"ApiName", "Stage"}


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_alarm_topic_is_encrypted_tls_only_and_published_to_by_our_alarms_only(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    topic = s.properties(s.stack.alarms.topic)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [s.logical_id(s.stack.alarms.key), "Arn"]}
    assert topic["TopicName"] == f"{s.stack.settings.prefix}-alarms"
    (policy,) = s.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["PolicyDocument"]["Statement"]
    assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in statements)
    (allow,) = [st for st in statements if st["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    source = "".join(p if isinstance(p, str) else "" for p in allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1])
    assert source.endswith(f":alarm:{s.stack.settings.prefix}-*")


def test_alarm_email_is_per_environment_context(synth: Synthesized, small_synth: Synthesized) -> None:
    """Given -c alarmEmail (small prod synth) / Then it is subscribed; given none (dev) / Then no subscription."""
    assert synth.of_type("AWS::SNS::Subscription") == {}
    (subscription,) = small_synth.of_type("AWS::SNS::Subscription").values()
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", ALARM_EMAIL)


@dataclass(frozen=True)
class Plotted:
    namespace: str
    metric: str
    dimensions: dict[str, str]
    options: dict[str, Any]


def _dashboard_metrics(s: Synthesized, capability: str) -> tuple[str, list[Plotted]]:
    """The dashboard's title-by-metric list, with CloudFormation references written as `ref:<id>`
    and `<id>.<attribute>`, so they compare to logical ids."""
    body = s.properties(s.stack.dashboards.dashboards[capability])["DashboardBody"]
    text = "".join(
        p if isinstance(p, str) else f"ref:{p['Ref']}" if "Ref" in p else ".".join(p["Fn::GetAtt"])
        for p in body["Fn::Join"][1]
    )
    plotted = []
    for widget in json.loads(text)["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            options = entry[-1] if isinstance(entry[-1], dict) else {}
            fields = entry[:-1] if options else entry
            dims = dict(zip(fields[2::2], fields[3::2], strict=True))
            plotted.append(Plotted(fields[0], fields[1], dims, {**options, "title": widget["properties"]["title"]}))
    return text, plotted


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_one_dashboard_per_capability(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    assert sorted(s.stack.dashboards.dashboards) == capabilities(topology) == sorted({f.capability for f in topology.functions})
    names = sorted(p["DashboardName"] for p in s.of_type("AWS::CloudWatch::Dashboard").values())
    assert names == [f"{s.stack.settings.prefix}-{c}" for c in capabilities(topology)]


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_dashboard_plots_each_function_and_queue_of_its_capability(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given a capability / Then its dashboard has invocations, errors, throttles, p50 and p99 duration
    per function, requests per API route, DLQ depth and oldest-message age per consumed queue."""
    s: Synthesized = request.getfixturevalue(fixture)
    m = s.stack.messaging
    for capability in capabilities(topology):
        _, plotted = _dashboard_metrics(s, capability)
        lambda_stats = {(p.metric, p.dimensions.get("FunctionName"), p.options.get("stat")) for p in plotted}
        specs = [fn for fn in topology.functions if fn.capability == capability]
        for fn in specs:
            ref = f"ref:{s.logical_id(s.stack.compute.functions[fn.name])}"
            for metric, stat in [("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p50"), ("Duration", "p99")]:
                assert (metric, ref, stat) in lambda_stats, (capability, fn.name, metric, stat)
            for route in fn.routes:
                assert any(
                    p.metric == "Count" and p.dimensions.get("Resource") == route.path and p.dimensions.get("Method") == route.method
                    for p in plotted
                ), (fn.name, route.path)
        queue_metrics = {(p.metric, p.dimensions.get("QueueName")) for p in plotted}
        for fn in specs:
            if fn.queue:
                assert ("ApproximateAgeOfOldestMessage", f"{s.logical_id(m.queues[fn.queue])}.QueueName") in queue_metrics
                dlq = f"{s.logical_id(m.dead_letter_queues[fn.queue])}.QueueName"
                assert ("ApproximateNumberOfMessagesVisible", dlq) in queue_metrics
            if fn.stream:
                failures = f"{s.logical_id(m.failure_queues[fn.stream.failure_queue])}.QueueName"
                assert ("ApproximateNumberOfMessagesVisible", failures) in queue_metrics


def test_business_metrics_are_plotted_under_the_names_code_emits(synth: Synthesized) -> None:
    """Given the catalogue (docs/observability.md) / Then each capability's dashboard plots its
    metrics in namespace Loyalty with dimension service=<capability>, points liability and budget
    burn included, and a metric no code emits yet says so in its widget's title."""
    plotted_names: set[str] = set()
    for capability in capabilities(TOPOLOGY):
        _, plotted = _dashboard_metrics(synth, capability)
        business = [p for p in plotted if p.namespace == NAMESPACE]
        assert {p.metric for p in business} == {m.name for w in widgets_for(capability) for m in w.metrics}
        for p in business:
            assert p.dimensions == {"service": capability}
            catalogued = next(m for w in widgets_for(capability) for m in w.metrics if m.name == p.metric)
            assert ("not emitted yet" in p.options["title"]) == (not catalogued.emitted)
        plotted_names |= {p.metric for p in business}
    assert {"CouponsClaimed", "CouponsRedeemed", "PointsEarned", "PointsExpired", "PointsLiability", "BudgetSpentMinor"} <= plotted_names


def test_business_metric_catalogue_is_documented() -> None:
    from tests.infra.infra_support import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "observability.md").read_text()
    for capability in ("coupons", "points"):
        for widget in widgets_for(capability):
            for metric in widget.metrics:
                assert f"`{metric.name}`" in doc, metric.name


def test_a_business_alarm_the_topology_declares_watches_its_capability_s_metric(synth: Synthesized) -> None:
    """Given the alarms functions declare on their business metrics (scoring's stale parked events)
    / Then each watches namespace Loyalty, dimension service=<capability>, over its period."""
    declared = [(fn, alarm) for fn in TOPOLOGY.functions for alarm in fn.alarms]
    assert ("scoring", "ScoringParkedEventsStale") in {(fn.capability, alarm.metric) for fn, alarm in declared}
    for fn, alarm in declared:
        props = _alarm(synth, alarm.name)
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (NAMESPACE, alarm.metric, alarm.statistic)
        assert props["Dimensions"] == [{"Name": "service", "Value": fn.capability}]
        assert (props["Period"], props["Threshold"]) == (alarm.period_minutes * 60, alarm.threshold)


def test_campaign_budget_burn_pages_the_on_call(synth: Synthesized) -> None:
    """Given the campaigns' budget metric / Then an hourly sum above the environment's threshold alarms."""
    (burn,) = [a for a in synth.of_type("AWS::CloudWatch::Alarm").values() if a.get("MetricName") == "CampaignBudgetSpent"]
    assert burn["Namespace"] == "Loyalty" and burn["Period"] == 3600 and burn["Statistic"] == "Sum"
    assert burn["Dimensions"] == [{"Name": "service", "Value": "campaigns"}]
    assert burn["Threshold"] == synth.stack.settings.budget_burn_alarm_per_hour
    assert burn["AlarmActions"]
