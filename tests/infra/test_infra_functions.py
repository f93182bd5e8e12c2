"""Every topology function becomes a Lambda function configured exactly as the topology says."""

from __future__ import annotations

import pytest

from infra.stacks.assets import SourceLayout
from infra.stacks.compute import METRICS_NAMESPACE, PYTHON_RUNTIME
from infra.topology import EVENT_BUS_ENV, TOPOLOGY, Function, Topology, queue_env, table_env
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized

REAL = [pytest.param(fn, id=fn.name) for fn in TOPOLOGY.functions]


@pytest.mark.parametrize("spec", REAL)
def test_function_matches_topology(synth: Synthesized, spec: Function) -> None:
    """Given a topology function / When synthesized / Then its Lambda has the declared shape."""
    props = synth.properties(synth.stack.compute.functions[spec.name])

    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == PYTHON_RUNTIME.name
    assert props["TracingConfig"] == {"Mode": "Active"}
    layer_ids = {synth.logical_id(synth.stack.compute.dependency_layer), synth.logical_id(synth.stack.compute.domain_layer)}
    assert {layer["Ref"] for layer in props["Layers"]} == layer_ids


def test_runtime_is_the_newest_python_the_cdk_library_offers() -> None:
    """Given aws_lambda.Runtime / Then we deploy its newest Python (what cdk-nag L1 checks)."""
    from aws_cdk import aws_lambda as lambda_

    def version(name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in name.removeprefix("PYTHON_").split("_"))

    newest = max((n for n in dir(lambda_.Runtime) if n.startswith("PYTHON_")), key=version)
    assert PYTHON_RUNTIME.name == getattr(lambda_.Runtime, newest).name


@pytest.mark.parametrize("spec", REAL)
def test_function_code_is_its_capability_directory(synth: Synthesized, spec: Function) -> None:
    """Given functions/<capability> / Then the staged code asset holds that directory, minus caches."""
    key = synth.properties(synth.stack.compute.functions[spec.name])["Code"]["S3Key"]
    staged = synth.outdir / f"asset.{key.removesuffix('.zip')}"
    assert staged.is_dir()
    assert not list(staged.rglob("__pycache__"))
    source = SourceLayout().function_dir(spec.capability)
    expected = {
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    actual = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert actual == expected


def _expected_environment(synth: Synthesized, topology: Topology, spec: Function) -> dict[str, object]:
    env: dict[str, object] = {
        "BANK_TIME_ZONE": synth.stack.settings.bank_time_zone,
        "POWERTOOLS_SERVICE_NAME": spec.capability,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": "INFO",
    }
    for table in spec.tables:
        env[table_env(table)] = {"Ref": synth.logical_id(synth.stack.data.tables[table])}
    for queue in spec.sends_to:
        env[queue_env(queue)] = {"Ref": synth.logical_id(synth.stack.messaging.queues[queue])}
    if spec.publishes_events:
        env[EVENT_BUS_ENV] = {"Ref": synth.logical_id(synth.stack.messaging.bus)}
    if spec.pii_key:
        env["PII_HASH_KEY_PARAMETER"] = f"/loyalty/{synth.stack.settings.name}/pii-hash-key"
    if spec.provider_secrets:
        env["PROVIDER_SECRETS_PREFIX"] = f"loyalty/{synth.stack.settings.name}/providers/"
    return env


@pytest.mark.parametrize("spec", REAL)
def test_function_environment_names_exactly_its_resources(synth: Synthesized, spec: Function) -> None:
    """Given a function's tables/queues/bus / Then its env vars carry exactly those physical names."""
    props = synth.properties(synth.stack.compute.functions[spec.name])
    assert props["Environment"]["Variables"] == _expected_environment(synth, TOPOLOGY, spec)


@pytest.mark.parametrize("spec", [pytest.param(fn, id=fn.name) for fn in SMALL_TOPOLOGY.functions])
def test_small_topology_environment(small_synth: Synthesized, spec: Function) -> None:
    """Given a publisher and queue sender / Then EVENT_BUS_NAME and <QUEUE>_QUEUE_URL are set."""
    props = small_synth.properties(small_synth.stack.compute.functions[spec.name])
    assert props["Environment"]["Variables"] == _expected_environment(small_synth, SMALL_TOPOLOGY, spec)
    assert props["Environment"]["Variables"]["BANK_TIME_ZONE"] == "Asia/Hong_Kong"


@pytest.mark.parametrize("spec", REAL)
def test_function_logs_to_its_own_log_group_with_retention(synth: Synthesized, spec: Function) -> None:
    """Given a function / Then it logs to an explicit log group kept one month in dev."""
    props = synth.properties(synth.stack.compute.functions[spec.name])
    log_group = synth.stack.compute.log_groups[spec.name]
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": synth.logical_id(log_group)}
    assert synth.properties(log_group)["RetentionInDays"] == 30
    assert synth.resources[synth.logical_id(log_group)]["DeletionPolicy"] == "Delete"


def test_prod_keeps_logs_a_year_and_retains_them(small_synth: Synthesized) -> None:
    """Given env=prod / Then function log groups are retained, for a year."""
    for log_group in small_synth.stack.compute.log_groups.values():
        assert small_synth.properties(log_group)["RetentionInDays"] == 365
        assert small_synth.resources[small_synth.logical_id(log_group)]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(("fixture", "topology"), [("synth", TOPOLOGY), ("small_synth", SMALL_TOPOLOGY)], ids=["real", "small"])
def test_queue_consumers_have_an_event_source_mapping(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given a function with a queue / Then one SQS mapping with its batch settings and partial failures."""
    s: Synthesized = request.getfixturevalue(fixture)
    queue_arns = [{"Fn::GetAtt": [s.logical_id(q), "Arn"]} for q in s.stack.messaging.queues.values()]
    mappings = {k: m for k, m in s.of_type("AWS::Lambda::EventSourceMapping").items() if m["EventSourceArn"] in queue_arns}
    consumers = [fn for fn in topology.functions if fn.queue]
    assert len(mappings) == len(consumers)
    for fn in consumers:
        assert fn.queue is not None
        queue = topology.queue(fn.queue)
        fn_id = s.logical_id(s.stack.compute.functions[fn.name])
        (mapping,) = [m for m in mappings.values() if m["FunctionName"] == {"Ref": fn_id}]
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.queues[queue.name]), "Arn"]}
        assert mapping["BatchSize"] == queue.batch_size
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping.get("MaximumBatchingWindowInSeconds", 0) == queue.max_batching_window_s


def test_real_topology_schedules_are_exactly_its_schedules(synth: Synthesized) -> None:
    """Given the topology's schedules / Then one EventBridge Scheduler schedule each, targeting its function."""
    schedules = synth.of_type("AWS::Scheduler::Schedule")
    expected = [(fn, schedule) for fn in TOPOLOGY.functions for schedule in fn.schedules]
    assert len(schedules) == len(expected)
    for fn, schedule in expected:
        fn_id = synth.logical_id(synth.stack.compute.functions[fn.name])
        (props,) = [
            p
            for p in schedules.values()
            if p["Target"]["Arn"] == {"Fn::GetAtt": [fn_id, "Arn"]} and p["ScheduleExpression"] == schedule.expression
        ]
        assert props["ScheduleExpressionTimezone"] == schedule.timezone
