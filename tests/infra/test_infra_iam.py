"""Least privilege: each function's role grants exactly what its topology entry declares."""

from __future__ import annotations

import pytest

from infra.topology import TOPOLOGY, Function, Topology
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized, as_list, referenced_ids

DYNAMO_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
# What a DynamoDB stream event source mapping needs (Table.grantStreamRead); checked in test_infra_streams.
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

CASES = [pytest.param("synth", TOPOLOGY, fn, id=f"real-{fn.name}") for fn in TOPOLOGY.functions] + [
    pytest.param("small_synth", SMALL_TOPOLOGY, fn, id=f"small-{fn.name}") for fn in SMALL_TOPOLOGY.functions
]


def _grants(s: Synthesized, spec: Function) -> list[tuple[set[str], set[str], object]]:
    """(actions, referenced logical ids, raw Resource) for every statement on the function's role."""
    role_id = s.logical_id(s.stack.compute.roles[spec.name])
    fn_props = s.properties(s.stack.compute.functions[spec.name])
    assert fn_props["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    return [
        (set(as_list(st["Action"])), referenced_ids(st.get("Resource")), st.get("Resource"))
        for st in s.role_statements(role_id)
        if st["Effect"] == "Allow"
    ]


@pytest.mark.parametrize(("fixture", "topology", "spec"), CASES)
def test_dynamodb_access_is_exactly_the_declared_tables(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given Function.tables / Then dynamodb actions reach those tables only, writes only if 'write'."""
    s: Synthesized = request.getfixturevalue(fixture)
    table_ids = {name: s.logical_id(table) for name, table in s.stack.data.tables.items()}
    dynamo = [
        (actions - STREAM_ACTIONS, ids, raw)
        for actions, ids, raw in _grants(s, spec)
        if any(a.startswith("dynamodb:") for a in actions - STREAM_ACTIONS)
    ]

    if not spec.tables:
        assert dynamo == [], f"{spec.name} declares no table but may call DynamoDB"
        return
    for _actions, ids, raw in dynamo:
        assert raw != "*" and ids, "dynamodb actions must name their tables"
        assert ids <= {table_ids[t] for t in spec.tables}, f"{spec.name} reaches an undeclared table"
    for table, access in spec.tables.items():
        actions_on_table = set().union(*(a for a, ids, _ in dynamo if table_ids[table] in ids))
        if access == "append":
            assert actions_on_table == {"dynamodb:PutItem"}, f"{spec.name} may do more than append to {table}"
            continue
        if access == "read_append":
            assert actions_on_table & DYNAMO_WRITES == {"dynamodb:PutItem"}, f"{spec.name} may change or delete in {table}"
            assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions_on_table
            continue
        assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions_on_table
        if access == "read":
            assert not actions_on_table & DYNAMO_WRITES, f"{spec.name} may write read-only table {table}"
        else:
            assert actions_on_table >= DYNAMO_WRITES


@pytest.mark.parametrize(("fixture", "topology", "spec"), CASES)
def test_bus_and_queue_access_is_exactly_declared(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given publishes_events / sends_to / queue / Then PutEvents, SendMessage, Receive match them (a
    consumer also sends to its own queue's DLQ: poison goes there at once)."""
    s: Synthesized = request.getfixturevalue(fixture)
    grants = _grants(s, spec)
    bus_id = s.logical_id(s.stack.messaging.bus)
    queue_ids = {name: s.logical_id(q) for name, q in s.stack.messaging.queues.items()}

    put_events = [ids for actions, ids, _ in grants if "events:PutEvents" in actions]
    assert put_events == ([{bus_id}] if spec.publishes_events else [])

    send_targets = set().union(*([ids for actions, ids, _ in grants if "sqs:SendMessage" in actions] or [set()]))
    failure_queue = (
        {s.logical_id(s.stack.messaging.failure_queues[spec.stream.failure_queue])} if spec.stream else set()
    )
    own_dlq = {s.logical_id(s.stack.messaging.dead_letter_queues[spec.queue])} if spec.queue else set()
    assert send_targets == {queue_ids[q] for q in spec.sends_to} | failure_queue | own_dlq

    receive_sources = set().union(*([ids for actions, ids, _ in grants if "sqs:ReceiveMessage" in actions] or [set()]))
    assert receive_sources == ({queue_ids[spec.queue]} if spec.queue else set())


@pytest.mark.parametrize(("fixture", "topology", "spec"), CASES)
def test_only_wildcard_is_xray_and_logs_are_its_own(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given a function role / Then no managed policies, '*' only for X-Ray (and, for a stream consumer,
    dynamodb:ListStreams, which has no resource-level permissions), logs to its own group."""
    s: Synthesized = request.getfixturevalue(fixture)
    role = s.properties(s.stack.compute.roles[spec.name])
    assert "ManagedPolicyArns" not in role
    allowed_on_any = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} | ({"dynamodb:ListStreams"} if spec.stream else set())
    for actions, ids, raw in _grants(s, spec):
        if raw == "*":
            assert actions <= allowed_on_any
        if any(a.startswith("logs:") for a in actions):
            assert ids == {s.logical_id(s.stack.compute.log_groups[spec.name])}


@pytest.mark.parametrize(("fixture", "topology", "spec"), CASES)
def test_only_functions_that_hash_identifiers_may_read_the_pii_key_and_only_that_parameter(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given Function.pii_key / Then ssm:GetParameter on /loyalty/<env>/pii-hash-key alone, and the
    function is told the parameter's name; every other function has no SSM access at all."""
    s: Synthesized = request.getfixturevalue(fixture)
    ssm = [(actions, raw) for actions, _ids, raw in _grants(s, spec) if any(a.startswith("ssm:") for a in actions)]
    variables = s.properties(s.stack.compute.functions[spec.name])["Environment"]["Variables"]
    if not spec.pii_key:
        assert ssm == [] and "PII_HASH_KEY_PARAMETER" not in variables
        return
    ((actions, raw),) = ssm
    assert actions == {"ssm:GetParameter"}
    assert variables["PII_HASH_KEY_PARAMETER"] == "/loyalty/dev/pii-hash-key"
    assert raw != "*" and str(raw).count("parameter/loyalty/dev/pii-hash-key") == 1


@pytest.mark.parametrize(("fixture", "topology", "spec"), CASES)
def test_only_functions_that_deliver_notifications_may_read_the_providers_secrets_and_only_those(
    request: pytest.FixtureRequest, fixture: str, topology: Topology, spec: Function
) -> None:
    """Given Function.provider_secrets / Then secretsmanager:GetSecretValue on the three providers'
    secrets by name alone, and the function is told their prefix; every other function has no
    Secrets Manager access at all."""
    s: Synthesized = request.getfixturevalue(fixture)
    secrets = [(actions, raw) for actions, _ids, raw in _grants(s, spec) if any(a.startswith("secretsmanager:") for a in actions)]
    variables = s.properties(s.stack.compute.functions[spec.name])["Environment"]["Variables"]
    if not spec.provider_secrets:
        assert secrets == [] and "PROVIDER_SECRETS_PREFIX" not in variables
        return
    ((actions, raw),) = secrets
    assert actions == {"secretsmanager:GetSecretValue"}
    assert variables["PROVIDER_SECRETS_PREFIX"] == "loyalty/dev/providers/"
    assert "*" not in str(raw) and all(str(raw).count(f"secret:loyalty/dev/providers/{name}-??????") == 1 for name in ("wecom", "sms", "push"))


ORG_SCOPED = [spec for spec in TOPOLOGY.functions if spec.routes]


@pytest.mark.parametrize("spec", ORG_SCOPED, ids=lambda spec: spec.name)
def test_a_function_whose_routes_judge_the_org_scope_may_read_what_it_judges_by(spec: Function) -> None:
    # Given an API function and the org scope each of its routes declares (loyalty.org.scope)
    import importlib

    from loyalty.org.scope import CustomersOwn, ScopedByItself

    handler = importlib.import_module(spec.import_path).handler
    scopes = [options.scope for routes in handler.routes for options in routes.options if options.scope is not None]
    # When its grants are read
    # Then a function judging the tree reads the org table, and one judging a customer's branch the customers table
    if any(not isinstance(scope, ScopedByItself) for scope in scopes):
        assert spec.tables.get("org") in ("read", "write"), f"{spec.name} judges the org tree"
    if any(isinstance(scope, CustomersOwn) for scope in scopes) or spec.name == "scoring-admin":  # segment members
        assert spec.tables.get("customers") in ("read", "write"), f"{spec.name} judges customers' branches"
