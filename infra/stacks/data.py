"""DynamoDB tables from `Topology.tables`, encrypted with one customer-managed key; NEW_IMAGE streams
for the tables that carry a transactional outbox (`Table.stream`)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.stacks.settings import EnvironmentSettings
from infra.topology import Topology


def _string_key(name: str | None) -> dynamodb.Attribute | None:
    # The topology names keys only; every key in this engine is a string (ids, composite keys).
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING) if name else None


class DataStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology, settings: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{settings.prefix}-data",
            description=f"Encrypts the loyalty {settings.name} DynamoDB tables",
            enable_key_rotation=True,
            removal_policy=settings.removal_policy,
        )
        self.tables: dict[str, dynamodb.Table] = {}
        for spec in topology.tables:
            table = dynamodb.Table(
                self,
                f"Table-{spec.name}",
                partition_key=_string_key(spec.partition_key),  # type: ignore[arg-type]
                sort_key=_string_key(spec.sort_key),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=self.key,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=spec.ttl_attribute,
                # The outbox publisher reads only what was written (loyalty.core.outbox): NEW_IMAGE.
                stream=dynamodb.StreamViewType.NEW_IMAGE if spec.stream else None,
                deletion_protection=settings.is_prod,
                removal_policy=settings.removal_policy,
            )
            for index in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index.name,
                    partition_key=_string_key(index.partition_key),  # type: ignore[arg-type]
                    sort_key=_string_key(index.sort_key),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            self.tables[spec.name] = table
