"""The whole system on one machine: emulator, resources, API, queue and stream pollers, and schedules.

Everything is generated from `infra.topology.TOPOLOGY`, as the CDK stacks are.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from infra.local.clients import LOCAL_CREDENTIALS, LOCAL_REGION, Clients
from infra.local.emulator import Emulator
from infra.local.gateway import HandlerRegistry, LocalApiGateway
from infra.local.pollers import QueuePoller
from infra.local.provision import Provisioned, provision
from infra.local.streams import StreamPoller
from infra.topology import DEFAULT_BANK_TIME_ZONE, EVENT_BUS_ENV, Topology, queue_env, table_env


@dataclass(frozen=True)
class Ports:
    emulator: int = 4566
    api: int = 3000

    @classmethod
    def from_env(cls) -> Ports:
        return cls(int(os.environ.get("LOCAL_EMULATOR_PORT", 4566)), int(os.environ.get("LOCAL_API_PORT", 3000)))


def function_environment(topology: Topology, emulator_url: str, provisioned: Provisioned) -> dict[str, str]:
    """What CDK sets on each Lambda, for every function at once (they share this process)."""
    env = {
        "AWS_ENDPOINT_URL": emulator_url,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        EVENT_BUS_ENV: topology.bus_name,
        "BANK_TIME_ZONE": os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE),
        "POWERTOOLS_SERVICE_NAME": "loyalty-local",
        "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    env.update({table_env(t.name): t.name for t in topology.tables})
    env.update({queue_env(q.name): provisioned.queue_urls[q.name] for q in topology.queues})
    return env


class LocalCloud:
    def __init__(self, topology: Topology, ports: Ports = Ports(), host: str = "127.0.0.1"):
        self.topology = topology
        self.ports = ports
        self.host = host
        self.emulator = Emulator(host, ports.emulator)
        self.registry = HandlerRegistry()
        self.pollers: list[QueuePoller] = []
        self.stream_pollers: list[StreamPoller] = []
        self.scheduler: Any = None
        self._api_server: Any = None
        self._api_thread: threading.Thread | None = None
        self.simulator: Any = None  # the notification providers (infra/local/provider_simulator.py)
        self.ready = False  # set by whoever seeds data after start(); tests that seed nothing skip it

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ports.api}"

    def start(self) -> LocalCloud:
        import logging
        import warnings

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per emulator call
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self.emulator.start()
        self.clients = Clients.for_endpoint(self.emulator.url)
        self.provisioned = provision(self.topology, self.clients)
        # Handlers read their configuration from the environment, exactly as in Lambda.
        os.environ.update(function_environment(self.topology, self.emulator.url, self.provisioned))
        self._start_provider_simulator()
        from infra.local.scheduler import LocalScheduler  # needs the environment set first

        for queue in self.topology.queues:
            consumer = self.topology.consumer_of(queue.name)
            if consumer is not None:
                self.pollers.append(
                    QueuePoller(
                        queue,
                        self.provisioned.queue_urls[queue.name],
                        self.provisioned.queue_arns[queue.name],
                        consumer,
                        self.registry,
                        self.clients.sqs,
                    ).start()
                )
        for function in self.topology.functions:
            if function.stream is not None:
                self.stream_pollers.append(
                    StreamPoller(
                        function,
                        self.provisioned.stream_arns[function.stream.table],
                        self.registry,
                        self.clients.dynamodbstreams,
                        self.clients.sqs,
                        self.provisioned.queue_urls[function.stream.failure_queue],
                    ).start()
                )
        self.scheduler = LocalScheduler(self.topology, self.registry).start()
        gateway = LocalApiGateway(self.topology, self.registry, extra=self._local_routes())
        self._api_server = make_server(self.host, self.ports.api, gateway, threaded=True)
        self._api_thread = threading.Thread(target=self._api_server.serve_forever, name="api", daemon=True)
        self._api_thread.start()
        return self

    def _start_provider_simulator(self) -> None:
        """The providers' simulator, and their secrets in the emulator's Secrets Manager pointing at it,
        under the names the delivery functions read (PROVIDER_SECRETS_PREFIX)."""
        import json

        import boto3

        from infra.local.clients import LOCAL_CREDENTIALS, LOCAL_REGION
        from infra.local.provider_simulator import ProviderSimulator
        from loyalty.core.config import get_settings

        self.simulator = ProviderSimulator(self.host).start()
        secrets: Any = boto3.client("secretsmanager", endpoint_url=self.emulator.url, region_name=LOCAL_REGION,  # type: ignore[call-overload]
                                    aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                                    aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"])
        prefix = get_settings().provider_secrets_prefix
        for name, secret in self.simulator.secrets().items():
            try:
                secrets.create_secret(Name=f"{prefix}{name}", SecretString=json.dumps(secret))
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=f"{prefix}{name}", SecretString=json.dumps(secret))

    def stop_background_work(self) -> None:
        """Schedules and pollers stop; the emulator and the API keep serving (benchmarks count requests)."""
        if self.scheduler:
            self.scheduler.stop()
        pollers = [*self.pollers, *self.stream_pollers]
        # All asked first: a busy emulator makes each in-flight poll slow, and waiting for them one
        # by one added those waits up (Ctrl-C took over 30 s on a loaded machine).
        for poller in pollers:
            poller.signal_stop()
        for poller in pollers:
            poller.join()

    def stop(self) -> None:
        if self._api_server:
            self._api_server.shutdown()
            self._api_server.server_close()
        if self.simulator:
            self.simulator.stop()
        self.stop_background_work()
        self.emulator.stop()

    def _local_routes(self) -> dict[str, Any]:
        import json

        from infra.local.reference import api_reference, document_text

        def document(_request: Request) -> Response:
            return Response(document_text(self.topology), content_type="application/json")

        def reference(_request: Request) -> Response:
            return Response(api_reference(self.topology), content_type="text/html")

        def health(_request: Request) -> Response:
            # 503 until `make run` has seeded the demo bank, so clients start on a ready system.
            status = "ok" if self.ready else "starting"
            body = json.dumps({"status": status, "emulator": self.emulator.url})
            return Response(body, status=200 if self.ready else 503, content_type="application/json")

        def fire(request: Request) -> Response:
            name = request.args.get("schedule", "")
            if request.method != "POST" or name not in self.scheduler.entries:
                body = {"error": {"code": "UNKNOWN_SCHEDULE", "message": f"POST with ?schedule= one of {sorted(self.scheduler.entries)}", "details": []}}
                return Response(json.dumps(body), status=404, content_type="application/json")
            result = self.scheduler.fire_now(name)
            return Response(json.dumps({"fired": name, "result": result}, default=str), content_type="application/json")

        from infra.local import console

        return {"/openapi.json": document, "/docs": reference, "/_local/health": health, "/_local/schedules/fire": fire,
                **console.routes()}
