"""An EventBridge archive of every event the bank publishes (source `bank.core`), so lost or
mishandled events can be replayed onto the bus (docs/operations.md, "Replay bank events").

Only the bank's events: the engine's own events (`loyalty.*`) are rebuilt from its tables'
outboxes, and archiving them would keep a second copy of customer data for no recovery gain.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.stacks.encryption import allow_archive_to_use_key
from infra.stacks.settings import EnvironmentSettings
from infra.topology import BANK_SOURCE


class Recovery(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, bus: events.EventBus, bus_name: str, key: kms.IKey, settings: EnvironmentSettings
    ) -> None:
        super().__init__(scope, construct_id)
        self.archive = events.Archive(
            self,
            "BankEventsArchive",
            archive_name=f"{settings.prefix}-bank-events",
            description=f"Every {BANK_SOURCE} event on {bus_name}, kept {settings.archive_retention_days} days for replay",
            source_event_bus=bus,
            event_pattern=events.EventPattern(source=[BANK_SOURCE]),
            retention=Duration.days(settings.archive_retention_days),
        )
        # The bus's key, not CDK's `kms_key=`: CDK's archive statement names the bus by reference,
        # and the bus already refers to this key, which would be a cycle. Ours names it by ARN.
        allow_archive_to_use_key(key, bus_name=bus_name)
        cfn = self.archive.node.default_child
        assert isinstance(cfn, events.CfnArchive)
        cfn.kms_key_identifier = key.key_arn
        self.archive.apply_removal_policy(settings.removal_policy)
