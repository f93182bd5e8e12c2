"""Customer-managed keys for queues, the bus and alarms, and exactly the KMS access each user needs."""

from __future__ import annotations

from typing import Any

import pytest

from infra.topology import TOPOLOGY, Function, Topology
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized, as_list, referenced_ids

FIXTURES = [pytest.param("synth", TOPOLOGY, id="real"), pytest.param("small_synth", SMALL_TOPOLOGY, id="small")]
CASES = [pytest.param("synth", fn, id=f"real-{fn.name}") for fn in TOPOLOGY.functions] + [
    pytest.param("small_synth", fn, id=f"small-{fn.name}") for fn in SMALL_TOPOLOGY.functions
]


def _arn(s: Synthesized, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [s.logical_id(construct), "Arn"]}


def _key_statements(s: Synthesized, key: Any) -> list[dict[str, Any]]:
    return s.properties(key)["KeyPolicy"]["Statement"]  # type: ignore[no-any-return]


def _service_statements(s: Synthesized, key: Any, service: str) -> list[dict[str, Any]]:
    return [st for st in _key_statements(s, key) if st.get("Principal") == {"Service": service}]


def _joined(value: Any) -> str:
    """A Fn::Join'd ARN as text, pseudo parameters kept as ${...}: enough to compare patterns."""
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "${" + p["Ref"] + "}" for p in parts)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_every_queue_is_encrypted_with_the_messaging_key(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given every work queue, DLQ and stream failure queue / Then SSE-KMS with the messaging key."""
    s: Synthesized = request.getfixturevalue(fixture)
    m = s.stack.messaging
    for queue in [*m.queues.values(), *m.dead_letter_queues.values(), *m.failure_queues.values()]:
        props = s.properties(queue)
        assert props["KmsMasterKeyId"] == _arn(s, m.key)
        assert "SqsManagedSseEnabled" not in props
    assert len(m.queues) == len(m.dead_letter_queues) == len(topology.queues)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_the_bus_uses_the_messaging_key_and_keeps_undecryptable_events(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given the bus / Then the messaging key encrypts it, and events it cannot encrypt or decrypt go
    to its own DLQ, which SQS encrypts (not that key: it must work when the key is the problem) and
    which only this bus may send to."""
    s: Synthesized = request.getfixturevalue(fixture)
    m = s.stack.messaging
    bus = s.properties(m.bus)
    assert bus["KmsKeyIdentifier"] == _arn(s, m.key)
    assert bus["DeadLetterConfig"] == {"Arn": _arn(s, m.bus_dead_letter_queue)}
    assert s.properties(m.bus_dead_letter_queue)["SqsManagedSseEnabled"] is True
    allows = [
        st
        for policy in s.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": s.logical_id(m.bus_dead_letter_queue)} in policy["Queues"]
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {"ArnEquals": {"aws:SourceArn": _arn(s, m.bus)}},
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": _arn(s, m.bus_dead_letter_queue),
        }
    ]


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_keys_rotate_and_survive_in_prod_only(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    keys = s.of_type("AWS::KMS::Key")
    assert set(keys) == {s.logical_id(k) for k in (s.stack.data.key, s.stack.messaging.key, s.stack.alarms.key)}
    expected = "Retain" if s.stack.settings.is_prod else "Delete"
    for key_id, props in keys.items():
        assert props["EnableKeyRotation"] is True
        assert s.resources[key_id]["DeletionPolicy"] == expected


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_eventbridge_may_use_the_queue_key_only_for_our_rules_and_queues(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given the messaging key / Then events.amazonaws.com may encrypt for delivery only from rules on
    our bus (aws:SourceArn), in our account, into this environment's queues (encryption context)."""
    s: Synthesized = request.getfixturevalue(fixture)
    (rules,) = [st for st in _key_statements(s, s.stack.messaging.key) if st.get("Sid") == "EventBridgeRulesOnOurBusToOurQueues"]
    assert rules["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(as_list(rules["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert rules["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    like = rules["Condition"]["ArnLike"]
    assert _joined(like["aws:SourceArn"]).endswith(f":rule/{topology.bus_name}/*")
    assert _joined(like["kms:EncryptionContext:aws:sqs:arn"]).endswith(f":{s.stack.settings.prefix}-*")
    # and every event-rule queue is named under that prefix, so the pattern covers exactly them
    for queue in [*s.stack.messaging.queues.values(), *s.stack.messaging.dead_letter_queues.values()]:
        assert s.properties(queue)["QueueName"].startswith(f"{s.stack.settings.prefix}-")


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_every_eventbridge_use_of_the_messaging_key_is_conditioned(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given the messaging key's EventBridge statements / Then each data-key action is bound to our
    account, bus or encryption context (kms:DescribeKey, metadata only, may stand alone)."""
    s: Synthesized = request.getfixturevalue(fixture)
    statements = _service_statements(s, s.stack.messaging.key, "events.amazonaws.com")
    assert len(statements) >= 3  # rules -> queues, the bus (CDK), the archive
    for st in statements:
        if set(as_list(st["Action"])) != {"kms:DescribeKey"}:
            assert st.get("Condition"), st


@pytest.mark.parametrize(("fixture", "spec"), CASES)
def test_function_kms_access_to_the_messaging_key_is_what_its_queues_need(
    request: pytest.FixtureRequest, fixture: str, spec: Function
) -> None:
    """Given a function / Then on the messaging key it may GenerateDataKey+Decrypt if it sends (a
    `sends_to` queue, its stream failure queue, or, as a consumer, poison to its queue's DLQ) and
    Decrypt if it consumes a queue, nothing otherwise; never a wildcard action."""
    s: Synthesized = request.getfixturevalue(fixture)
    role_id = s.logical_id(s.stack.compute.roles[spec.name])
    key_id = s.logical_id(s.stack.messaging.key)
    actions: set[str] = set()
    for st in s.role_statements(role_id):
        if st["Effect"] == "Allow" and key_id in referenced_ids(st.get("Resource")):
            actions |= set(as_list(st["Action"]))
    expected: set[str] = set()
    if spec.sends_to or spec.stream or spec.queue:
        expected |= {"kms:GenerateDataKey", "kms:Decrypt"}
    assert actions == expected
    assert not any("*" in a for a in actions)


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_no_role_may_use_the_alarm_key(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given the alarm topic's key / Then only CloudWatch (key policy) uses it; no IAM role is granted it."""
    s: Synthesized = request.getfixturevalue(fixture)
    key_id = s.logical_id(s.stack.alarms.key)
    for policy in s.of_type("AWS::IAM::Policy").values():
        for st in policy["PolicyDocument"]["Statement"]:
            assert key_id not in referenced_ids(st.get("Resource"))
    (cloudwatch,) = _service_statements(s, s.stack.alarms.key, "cloudwatch.amazonaws.com")
    assert sorted(as_list(cloudwatch["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert _service_statements(s, s.stack.alarms.key, "events.amazonaws.com") == []


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_a_rule_dlq_accepts_events_from_its_rule_only(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given a rule / Then its target's DLQ lets events.amazonaws.com send, only from that rule."""
    s: Synthesized = request.getfixturevalue(fixture)
    for spec in topology.rules:
        dlq_id = s.logical_id(s.stack.messaging.dead_letter_queues[spec.queue])
        rule = s.properties(s.stack.messaging.rules[spec.name])
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
        allows = [
            st
            for p in s.of_type("AWS::SQS::QueuePolicy").values()
            if {"Ref": dlq_id} in p["Queues"]
            for st in p["PolicyDocument"]["Statement"]
            if st["Effect"] == "Allow"
        ]
        # one Allow per rule delivering to this queue, each naming its rule
        senders = [r.name for r in topology.rules if r.queue == spec.queue]
        assert sorted(str(st["Condition"]) for st in allows) == sorted(
            str({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [s.logical_id(s.stack.messaging.rules[r]), "Arn"]}}})
            for r in senders
        )
