"""The whole loyalty engine in one stack: data, messaging, functions, API (no cross-stack refs)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.stacks.api import Api
from infra.stacks.assets import SourceLayout
from infra.stacks.compute import Functions
from infra.stacks.data import DataStore
from infra.stacks.messaging import Messaging
from infra.stacks.nag import suppress
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
        self.api = Api(self, "Api", topology=topology, settings=settings, functions=self.compute.functions)
        suppress(topology, self.data, self.messaging, self.compute, self.api)
        self._outputs()

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.api.user_pool_client.user_pool_client_id)
        CfnOutput(self, "EventBusName", value=self.messaging.bus.event_bus_name)
        for name, table in self.data.tables.items():
            CfnOutput(self, _output_id("table", name), value=table.table_name)
        for name, queue in self.messaging.queues.items():
            CfnOutput(self, _output_id("queue", name), value=queue.queue_url)
            CfnOutput(self, _output_id("dlq", name), value=self.messaging.dead_letter_queues[name].queue_url)
        for name, queue in self.messaging.failure_queues.items():
            CfnOutput(self, _output_id("failure-queue", name), value=queue.queue_url)
