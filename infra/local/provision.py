"""Creates the topology's tables (with their streams), queues, DLQs, stream failure queues, bus and
rules in the emulator, as CDK does in AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from infra.topology import Topology


@dataclass
class Provisioned:
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)  # table name -> its stream's ARN


NEW_IMAGE_STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def _ensure_stream(dynamodb: Any, table_name: str) -> str:
    """The stream ARN of an existing table, enabling its stream first if it has none."""
    description = dynamodb.describe_table(TableName=table_name)["Table"]
    if description.get("StreamSpecification", {}).get("StreamEnabled"):
        return str(description["LatestStreamArn"])
    updated = dynamodb.update_table(TableName=table_name, StreamSpecification=NEW_IMAGE_STREAM)["TableDescription"]
    return str(updated["LatestStreamArn"])


def provision(topology: Topology, clients: Any) -> Provisioned:
    """`clients` is an `infra.local.clients.Clients`: boto3 clients pointed at the emulator."""
    out = Provisioned()
    existing_tables = set(clients.dynamodb.list_tables()["TableNames"])
    for table in topology.tables:
        if table.name in existing_tables:
            if table.stream:
                out.stream_arns[table.name] = _ensure_stream(clients.dynamodb, table.name)
            continue
        keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
        attributes = {table.partition_key, *( [table.sort_key] if table.sort_key else [])}
        for index in table.indexes:
            attributes.add(index.partition_key)
            if index.sort_key:
                attributes.add(index.sort_key)
        request: dict[str, Any] = {
            "TableName": table.name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        }
        if table.indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
                    + ([{"AttributeName": index.sort_key, "KeyType": "RANGE"}] if index.sort_key else []),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in table.indexes
            ]
        if table.stream:
            request["StreamSpecification"] = NEW_IMAGE_STREAM
        created = clients.dynamodb.create_table(**request)["TableDescription"]
        if table.stream:
            out.stream_arns[table.name] = created["LatestStreamArn"]
        if table.ttl_attribute:
            clients.dynamodb.update_time_to_live(
                TableName=table.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )

    for queue in topology.queues:
        dlq_url = clients.sqs.create_queue(QueueName=queue.dlq_name)["QueueUrl"]
        dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = clients.sqs.create_queue(
            QueueName=queue.name,
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_s),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}),
            },
        )["QueueUrl"]
        out.queue_urls[queue.name] = url
        out.queue_urls[queue.dlq_name] = dlq_url
        out.queue_arns[queue.name] = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    # A stream consumer's on-failure destination (Lambda's SqsDlq): plain queue, no redrive.
    for function in topology.functions:
        if function.stream is not None:
            name = function.stream.failure_queue
            out.queue_urls[name] = url = clients.sqs.create_queue(QueueName=name)["QueueUrl"]
            out.queue_arns[name] = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]

    if topology.bus_name not in {b["Name"] for b in clients.events.list_event_buses()["EventBuses"]}:
        clients.events.create_event_bus(Name=topology.bus_name)
    for rule in topology.rules:
        clients.events.put_rule(Name=rule.name, EventBusName=topology.bus_name, EventPattern=json.dumps(rule.event_pattern))
        clients.events.put_targets(
            Rule=rule.name,
            EventBusName=topology.bus_name,
            Targets=[{"Id": rule.queue, "Arn": out.queue_arns[rule.queue]}],
        )
    return out
