"""DynamoDB streams: NEW_IMAGE on the outbox tables, one event source mapping per stream consumer with
its retries and on-failure queue, and only the access that mapping needs."""

from __future__ import annotations

import dataclasses

import pytest

from infra.stacks.validation import validate_topology
from infra.topology import TOPOLOGY, Function, StreamSource, Table, Topology
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized, as_list, referenced_ids

FIXTURES = [("synth", TOPOLOGY), ("small_synth", SMALL_TOPOLOGY)]
TABLES = [pytest.param(f, topo, t, id=f"{f}-{t.name}") for f, topo in FIXTURES for t in topo.tables]
STREAM_CONSUMERS = [pytest.param(f, topo, fn, id=f"{f}-{fn.name}") for f, topo in FIXTURES for fn in topo.functions if fn.stream]
ALL_FUNCTIONS = [pytest.param(f, topo, fn, id=f"{f}-{fn.name}") for f, topo in FIXTURES for fn in topo.functions]

STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}


def _stream(spec: Function) -> StreamSource:
    assert spec.stream is not None
    return spec.stream


def _stream_mapping(s: Synthesized, spec: Function) -> dict:
    fn_id = s.logical_id(s.stack.compute.functions[spec.name])
    table_id = s.logical_id(s.stack.data.tables[_stream(spec).table])
    (mapping,) = [
        m
        for m in s.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["FunctionName"] == {"Ref": fn_id} and m["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    ]
    return mapping


def _stream_arns(resource: object) -> list[object]:
    """The `Fn::GetAtt [<table>, StreamArn]` values a statement's Resource holds."""
    return [r for r in as_list(resource) if isinstance(r, dict) and r.get("Fn::GetAtt", [None, None])[1] == "StreamArn"]


def _statements(s: Synthesized, spec: Function) -> list[dict]:
    role_id = s.logical_id(s.stack.compute.roles[spec.name])
    return [st for st in s.role_statements(role_id) if st["Effect"] == "Allow"]


def test_the_real_topology_streams_the_coupons_outbox() -> None:
    """Given the topology / Then coupons has a stream and coupons-outbox consumes it, publishing only."""
    assert TOPOLOGY.table("coupons").stream
    outbox = TOPOLOGY.function("coupons-outbox")
    assert outbox.stream == StreamSource("coupons")
    assert outbox.tables == {} and outbox.publishes_events


@pytest.mark.parametrize(("fixture", "topology", "spec"), TABLES)
def test_streamed_tables_have_a_new_image_stream(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Table
) -> None:
    """Given Table.stream / Then a NEW_IMAGE stream exactly on those tables."""
    s: Synthesized = request.getfixturevalue(fixture)
    props = s.properties(s.stack.data.tables[spec.name])
    if spec.stream:
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    else:
        assert "StreamSpecification" not in props


@pytest.mark.parametrize(("fixture", "topology", "spec"), STREAM_CONSUMERS)
def test_stream_consumer_has_a_mapping_with_retries_bisect_and_on_failure_queue(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given Function.stream / Then one mapping on the table's stream with the topology's batch size and
    retries, bisecting, partial batch failures, from TRIM_HORIZON, failures to its own queue."""
    s: Synthesized = request.getfixturevalue(fixture)
    stream = _stream(spec)
    mapping = _stream_mapping(s, spec)
    failure_queue_id = s.logical_id(s.stack.messaging.failure_queues[stream.failure_queue])
    assert mapping["BatchSize"] == stream.batch_size
    assert mapping["MaximumRetryAttempts"] == stream.max_retries
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [failure_queue_id, "Arn"]}}}


@pytest.mark.parametrize(("fixture", "topology", "spec"), STREAM_CONSUMERS)
def test_the_mapping_filters_on_what_the_consumer_acts_on(request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function) -> None:
    """Given a stream consumer with a filter / Then Lambda drops every other record before invoking it."""
    import json

    mapping = _stream_mapping(request.getfixturevalue(fixture), spec)
    pattern = _stream(spec).filter_pattern
    if pattern is None:
        assert "FilterCriteria" not in mapping
    else:
        assert [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]] == [pattern]


def test_the_outbox_publishers_read_only_outbox_inserts() -> None:
    from infra.topology import OUTBOX_INSERTS

    publishers = [fn for fn in TOPOLOGY.functions if fn.stream]
    assert publishers and all(_stream(fn).filter_pattern == OUTBOX_INSERTS for fn in publishers)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES, ids=["real", "small"])
def test_exactly_one_mapping_per_consumer(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given the topology's queue and stream consumers / Then no other event source mapping exists."""
    s: Synthesized = request.getfixturevalue(fixture)
    expected = sum(1 for fn in topology.functions if fn.queue) + sum(1 for fn in topology.functions if fn.stream)
    assert len(s.of_type("AWS::Lambda::EventSourceMapping")) == expected


@pytest.mark.parametrize(("fixture", "topology", "spec"), STREAM_CONSUMERS)
def test_failure_queue_is_encrypted_ssl_only_and_kept_14_days(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given a stream consumer's failure queue / Then the messaging key, 14 days, a Deny on non-TLS access."""
    s: Synthesized = request.getfixturevalue(fixture)
    queue = s.stack.messaging.failure_queues[_stream(spec).failure_queue]
    queue_id = s.logical_id(queue)
    props = s.properties(queue)
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.key), "Arn"]}
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    denies = [
        st
        for policy in s.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in policy["Queues"]
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny"
    ]
    assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in denies)


@pytest.mark.parametrize(("fixture", "topology", "spec"), ALL_FUNCTIONS)
def test_stream_read_is_granted_on_the_consumed_stream_only(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given Function.stream / Then stream read actions on that table's stream ARN only (no stream ARN
    otherwise), ListStreams (no resource-level permissions) only for a consumer."""
    s: Synthesized = request.getfixturevalue(fixture)
    statements = _statements(s, spec)
    on_streams = [st for st in statements if _stream_arns(st.get("Resource"))]
    list_streams = [st for st in statements if "dynamodb:ListStreams" in as_list(st["Action"])]
    if spec.stream is None:
        assert on_streams == [] and list_streams == []
        return
    table_id = s.logical_id(s.stack.data.tables[spec.stream.table])
    assert on_streams, f"{spec.name} may not read its stream"
    for st in on_streams:
        assert set(as_list(st["Action"])) <= STREAM_READ
        assert as_list(st["Resource"]) == [{"Fn::GetAtt": [table_id, "StreamArn"]}]
    assert set().union(*(set(as_list(st["Action"])) for st in on_streams)) >= STREAM_READ
    assert [st["Resource"] for st in list_streams] == ["*"]


@pytest.mark.parametrize(("fixture", "topology", "spec"), STREAM_CONSUMERS)
def test_stream_consumer_cannot_touch_the_table_data_it_streams(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given a consumer without a `tables` grant on the streamed table / Then no item read or write on it."""
    s: Synthesized = request.getfixturevalue(fixture)
    stream = _stream(spec)
    assert stream.table not in spec.tables
    table_id = s.logical_id(s.stack.data.tables[stream.table])
    for st in _statements(s, spec):
        item_actions = {a for a in as_list(st["Action"]) if a.startswith("dynamodb:")} - STREAM_READ - {"dynamodb:ListStreams"}
        if item_actions:
            assert table_id not in referenced_ids(st.get("Resource")), f"{spec.name} may call {item_actions} on {stream.table}"


@pytest.mark.parametrize(("fixture", "topology", "spec"), STREAM_CONSUMERS)
def test_stream_consumer_may_send_to_its_failure_queue_only(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given the on-failure destination / Then the role may send to that queue, and no queue else unless declared."""
    s: Synthesized = request.getfixturevalue(fixture)
    failure_queue_id = s.logical_id(s.stack.messaging.failure_queues[_stream(spec).failure_queue])
    declared = {s.logical_id(s.stack.messaging.queues[q]) for q in spec.sends_to}
    targets = set().union(*(referenced_ids(st["Resource"]) for st in _statements(s, spec) if "sqs:SendMessage" in as_list(st["Action"])))
    assert targets == declared | {failure_queue_id}


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES, ids=["real", "small"])
def test_sqs3_is_suppressed_on_failure_queues_only(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given the nag report / Then "queue has no DLQ" is waived only where the queue is itself the DLQ
    (the stream failure queues, and the bus's own dead-letter queue)."""
    s: Synthesized = request.getfixturevalue(fixture)
    rows = [r for r in s.nag_rows() if r["Rule ID"] == "AwsSolutions-SQS3" and r["Compliance"] == "Suppressed"]
    dead_letter_queues = [*s.stack.messaging.failure_queues.values(), s.stack.messaging.bus_dead_letter_queue]
    paths = {q.node.default_child.node.path for q in dead_letter_queues}  # type: ignore[union-attr]
    assert {r["Resource ID"] for r in rows} == paths
    assert all("dead-letter queue" in r["Exception Reason"] for r in rows)


def _with_consumer(topology: Topology, source: StreamSource, table_streamed: bool = True) -> Topology:
    tables = tuple(dataclasses.replace(t, stream=table_streamed) if t.name == source.table else t for t in topology.tables)
    consumer = Function("x-outbox", "ledger", "outbox", stream=source)
    return dataclasses.replace(topology, tables=tables, functions=(*topology.functions, consumer))


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (_with_consumer(SMALL_TOPOLOGY, StreamSource("nope")), "stream of unknown table"),
        (_with_consumer(SMALL_TOPOLOGY, StreamSource("ledger"), table_streamed=False), "which has stream=False"),
        (_with_consumer(SMALL_TOPOLOGY, StreamSource("ledger", batch_size=0)), "batch_size"),
        (_with_consumer(SMALL_TOPOLOGY, StreamSource("ledger", max_retries=-1)), "max_retries"),
    ],
    ids=["unknown-table", "no-stream", "batch-size", "retries"],
)
def test_invalid_stream_source_fails_at_synth(topology: Topology, message: str) -> None:
    """Given a stream source a deploy would reject / Then synthesis refuses it with a clear message."""
    with pytest.raises(ValueError, match=message):
        validate_topology(topology)


def test_failure_queue_name_clashing_with_a_queue_fails_at_synth() -> None:
    from infra.topology import Queue

    clash = dataclasses.replace(SMALL_TOPOLOGY, queues=(*SMALL_TOPOLOGY.queues, Queue("ledger-stream-failures")))
    with pytest.raises(ValueError, match="clashes with a topology queue"):
        validate_topology(clash)
