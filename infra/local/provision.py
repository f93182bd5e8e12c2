"""Creates the topology's tables, queues, DLQs, bus and rules in the emulator, as CDK does in AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from infra.topology import Topology


@dataclass
class Provisioned:
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)


def provision(topology: Topology, clients: Any) -> Provisioned:
    """`clients` is an `infra.local.clients.Clients`: boto3 clients pointed at the emulator."""
    out = Provisioned()
    existing_tables = set(clients.dynamodb.list_tables()["TableNames"])
    for table in topology.tables:
        if table.name in existing_tables:
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
        clients.dynamodb.create_table(**request)
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
