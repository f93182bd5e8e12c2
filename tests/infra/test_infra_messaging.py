"""The bus, the queues with their DLQs, and the rules routing bank events to them."""

from __future__ import annotations

import pytest

from infra.topology import EVENT_BUS_NAME, TOPOLOGY, Queue, Rule
from tests.infra.infra_support import Synthesized


def test_bus_has_the_physical_name_banks_publish_to(synth: Synthesized) -> None:
    assert synth.properties(synth.stack.messaging.bus)["Name"] == EVENT_BUS_NAME == "loyalty-events"
    assert len(synth.of_type("AWS::Events::EventBus")) == 1


@pytest.mark.parametrize("spec", [pytest.param(q, id=q.name) for q in TOPOLOGY.queues])
def test_queue_has_dlq_and_topology_timeouts(synth: Synthesized, spec: Queue) -> None:
    """Given a topology queue / Then it redrives to its own DLQ after max_receive_count receives."""
    queue = synth.properties(synth.stack.messaging.queues[spec.name])
    dlq_id = synth.logical_id(synth.stack.messaging.dead_letter_queues[spec.name])
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert synth.resources[dlq_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_queue_and_dlq_is_encrypted_and_ssl_only(synth: Synthesized) -> None:
    """Given every queue / Then the messaging key encrypts it (the bus's own DLQ excepted, see
    test_infra_encryption) and a policy refuses non-TLS access."""
    queues = synth.of_type("AWS::SQS::Queue")
    failure_queues = {fn.stream.failure_queue for fn in TOPOLOGY.functions if fn.stream}
    assert failure_queues, "the real topology streams the coupons outbox"
    assert len(queues) == 2 * len(TOPOLOGY.queues) + len(failure_queues) + 1  # + the bus's own DLQ
    key_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.key), "Arn"]}
    bus_dlq_id = synth.logical_id(synth.stack.messaging.bus_dead_letter_queue)
    policies = synth.of_type("AWS::SQS::QueuePolicy").values()
    for queue_id, props in queues.items():
        if queue_id == bus_dlq_id:
            assert props["SqsManagedSseEnabled"] is True
        else:
            assert props["KmsMasterKeyId"] == key_arn, queue_id
        denies = [
            s
            for p in policies
            if {"Ref": queue_id} in p["Queues"]
            for s in p["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), queue_id


@pytest.mark.parametrize("spec", [pytest.param(r, id=r.name) for r in TOPOLOGY.rules])
def test_rule_has_exactly_the_topology_pattern_and_targets_its_queue(synth: Synthesized, spec: Rule) -> None:
    rule = synth.properties(synth.stack.messaging.rules[spec.name])
    assert rule["EventBusName"] == {"Ref": synth.logical_id(synth.stack.messaging.bus)}
    assert rule["EventPattern"] == spec.event_pattern
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.queues[spec.queue]), "Arn"]}


def test_rules_are_exactly_the_topology_rules(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::Events::Rule")) == len(TOPOLOGY.rules)


@pytest.mark.parametrize("spec", [pytest.param(r, id=r.name) for r in TOPOLOGY.rules])
def test_eventbridge_may_send_to_the_rule_queue(synth: Synthesized, spec: Rule) -> None:
    """Given a rule / Then the queue policy lets events.amazonaws.com send, from that rule (and from
    the other rules that feed the same queue, each in its own statement; nothing else)."""
    queue_id = synth.logical_id(synth.stack.messaging.queues[spec.queue])
    feeding = {synth.logical_id(synth.stack.messaging.rules[r.name]) for r in TOPOLOGY.rules if r.queue == spec.queue}
    allows = [
        s
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Queues"]
        for s in p["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert all(allow["Principal"] == {"Service": "events.amazonaws.com"} for allow in allows)
    sources = [allow["Condition"]["ArnEquals"]["aws:SourceArn"] for allow in allows]
    assert sorted(map(str, sources)) == sorted(str({"Fn::GetAtt": [rule_id, "Arn"]}) for rule_id in feeding)
