"""Recovery: an encrypted archive of the bank's events (replayable), and PITR on every table."""

from __future__ import annotations

import pytest

from infra.topology import BANK_SOURCE, TOPOLOGY, Topology
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized

FIXTURES = [pytest.param("synth", TOPOLOGY, id="real"), pytest.param("small_synth", SMALL_TOPOLOGY, id="small")]


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_bank_events_are_archived_from_the_bus_with_the_messaging_key(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given the bus / Then one archive takes every bank.core event from it, encrypted with the
    messaging key, kept the environment's retention, named per environment."""
    s: Synthesized = request.getfixturevalue(fixture)
    (archive_id, archive) = next(iter(s.of_type("AWS::Events::Archive").items()))
    assert len(s.of_type("AWS::Events::Archive")) == 1
    assert archive["EventPattern"] == {"source": [BANK_SOURCE]} == {"source": ["bank.core"]}
    assert archive["SourceArn"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.bus), "Arn"]}
    assert archive["KmsKeyIdentifier"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.key), "Arn"]}
    assert archive["RetentionDays"] == s.stack.settings.archive_retention_days
    assert archive["ArchiveName"] == f"{s.stack.settings.prefix}-bank-events"
    expected = "Retain" if s.stack.settings.is_prod else "Delete"
    assert s.resources[archive_id]["DeletionPolicy"] == expected


def test_archive_retention_is_longest_in_prod(synth: Synthesized, small_synth: Synthesized) -> None:
    assert synth.stack.settings.archive_retention_days == 7
    assert small_synth.stack.settings.archive_retention_days == 365


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_replay_has_every_arn_it_needs_as_outputs(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    """Given docs/operations.md's `aws events start-replay` / Then the archive, bus and rule ARNs are outputs."""
    s: Synthesized = request.getfixturevalue(fixture)
    outputs = s.template.to_json()["Outputs"]
    assert outputs["BankEventsArchiveArn"]["Value"] == {"Fn::GetAtt": [s.logical_id(s.stack.recovery.archive), "Arn"]}
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.bus), "Arn"]}
    for rule in topology.rules:
        output_id = "Rule" + rule.name.title().replace("-", "") + "Arn"
        assert outputs[output_id]["Value"] == {"Fn::GetAtt": [s.logical_id(s.stack.messaging.rules[rule.name]), "Arn"]}


@pytest.mark.parametrize(("fixture", "topology"), FIXTURES)
def test_every_table_in_the_template_has_point_in_time_recovery(
    request: pytest.FixtureRequest, fixture: str, topology: Topology
) -> None:
    """Given every DynamoDB table in the template (not only the topology's) / Then PITR is on."""
    s: Synthesized = request.getfixturevalue(fixture)
    tables = s.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(topology.tables)
    for props in tables.values():
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
