"""The whole loyalty engine in one stack: data, messaging, functions and recovery at the top; the
API, and the alarms and dashboards, each in a nested stack.

A CloudFormation stack holds at most 500 resources, and the API (a resource, a method and a
permission per route) and the alarms (several per function and queue) grow with every capability.
Nested stacks keep one deployment, one `cdk deploy`, and let CDK pass the references across.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, NestedStack, Stack
from constructs import Construct

from infra.stacks.alarms import Alarms
from infra.stacks.api import Api
from infra.stacks.assets import SourceLayout
from infra.stacks.compute import Functions
from infra.stacks.dashboards import Dashboards
from infra.stacks.data import DataStore
from infra.stacks.messaging import Messaging
from infra.stacks.nag import suppress
from infra.stacks.recovery import Recovery
from infra.stacks.settings import EnvironmentSettings
from infra.stacks.validation import validate_topology
from infra.topology import Topology


def _output_id(*parts: str) -> str:
    return "".join(p.title().replace("-", "") for p in parts)


class LoyaltyStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        settings: EnvironmentSettings,
        source: SourceLayout | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        validate_topology(topology)
        self.topology = topology
        self.settings = settings
        self.data = DataStore(self, "Data", topology=topology, settings=settings)
        self.messaging = Messaging(self, "Messaging", topology=topology, settings=settings)
        self.compute = Functions(
            self,
            "Functions",
            topology=topology,
            settings=settings,
            source=source or SourceLayout(),
            data=self.data,
            messaging=self.messaging,
        )
        self.api_stack = NestedStack(self, "ApiStack", description=f"Loyalty engine ({settings.name}): API")
        self.api = Api(
            self.api_stack,
            "Api",
            topology=topology,
            settings=settings,
            functions=self.compute.functions,
            layers=[self.compute.dependency_layer, self.compute.domain_layer],
            source=source or SourceLayout(),
        )
        self.recovery = Recovery(
            self, "Recovery", bus=self.messaging.bus, bus_name=topology.bus_name, key=self.messaging.key, settings=settings
        )
        self.observability_stack = NestedStack(self, "ObservabilityStack", description=f"Loyalty engine ({settings.name}): alarms, dashboards")
        self.alarms = Alarms(
            self.observability_stack, "Alarms", topology=topology, settings=settings, functions=self.compute, messaging=self.messaging, api=self.api
        )
        self.dashboards = Dashboards(
            self.observability_stack, "Dashboards", topology=topology, settings=settings, functions=self.compute, messaging=self.messaging
        )
        suppress(topology, self.data, self.messaging, self.compute, self.api)
        self._outputs()

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        if self.api.user_pool is not None and self.api.user_pool_client is not None:
            CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
            CfnOutput(self, "UserPoolClientId", value=self.api.user_pool_client.user_pool_client_id)
        if self.settings.identity_provider is not None:
            CfnOutput(self, "TokenIssuer", value=self.settings.identity_provider.issuer)
        CfnOutput(self, "EventBusName", value=self.messaging.bus.event_bus_name)
        # What `aws events start-replay` needs (docs/operations.md): the archive, the bus, the rules.
        CfnOutput(self, "EventBusArn", value=self.messaging.bus.event_bus_arn)
        CfnOutput(self, "BankEventsArchiveArn", value=self.recovery.archive.archive_arn)
        for name, rule in self.messaging.rules.items():
            CfnOutput(self, _output_id("rule", name, "arn"), value=rule.rule_arn)
        CfnOutput(self, "BusDlq", value=self.messaging.bus_dead_letter_queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
        for name, table in self.data.tables.items():
            CfnOutput(self, _output_id("table", name), value=table.table_name)
        for name, queue in self.messaging.queues.items():
            CfnOutput(self, _output_id("queue", name), value=queue.queue_url)
            CfnOutput(self, _output_id("dlq", name), value=self.messaging.dead_letter_queues[name].queue_url)
        for name, queue in self.messaging.failure_queues.items():
            CfnOutput(self, _output_id("failure-queue", name), value=queue.queue_url)
