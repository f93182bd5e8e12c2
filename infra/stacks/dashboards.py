"""One CloudWatch dashboard per capability (`Function.capability` in the topology), named
`loyalty-<env>-<capability>`: traffic, errors, latency, its queues, and its business metrics."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Tags
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from infra.stacks.business_metrics import NAMESPACE, SERVICE_DIMENSION, BusinessWidget, widgets_for
from infra.stacks.compute import Functions
from infra.stacks.messaging import Messaging
from infra.stacks.settings import EnvironmentSettings
from infra.topology import Function, Topology

PERIOD = Duration.minutes(5)
HALF, FULL = 12, 24  # dashboard grid columns


def capabilities(topology: Topology) -> list[str]:
    return sorted({fn.capability for fn in topology.functions})


class Dashboards(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        settings: EnvironmentSettings,
        functions: Functions,
        messaging: Messaging,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._functions = functions
        self._messaging = messaging
        self.dashboards: dict[str, cw.Dashboard] = {}
        for capability in capabilities(topology):
            specs = [fn for fn in topology.functions if fn.capability == capability]
            dashboard = cw.Dashboard(self, f"Dashboard-{capability}", dashboard_name=f"{settings.prefix}-{capability}")
            for row in self._rows(capability, specs):
                dashboard.add_widgets(*row)
            Tags.of(dashboard).add("capability", capability)
            self.dashboards[capability] = dashboard

    def _rows(self, capability: str, specs: list[Function]) -> list[list[cw.IWidget]]:
        lambdas = [(spec.name, self._functions.functions[spec.name]) for spec in specs]
        rows: list[list[cw.IWidget]] = [
            [
                _graph("Requests (API, per route)", self._api_requests(specs)) if any(s.routes for s in specs)
                else _note("Requests (API)", "No API routes in this capability."),
                _graph("Invocations", [fn.metric_invocations(label=name, period=PERIOD) for name, fn in lambdas]),
            ],
            [
                _graph("Errors", [fn.metric_errors(label=name, period=PERIOD) for name, fn in lambdas]),
                _graph("Throttles", [fn.metric_throttles(label=name, period=PERIOD) for name, fn in lambdas]),
            ],
            [
                _graph(
                    "Duration p50 / p99 (ms)",
                    [
                        fn.metric_duration(label=f"{name} {stat}", statistic=stat, period=PERIOD)
                        for name, fn in lambdas
                        for stat in ("p50", "p99")
                    ],
                    width=FULL,
                )
            ],
            self._queue_row(specs),
        ]
        business = widgets_for(capability)
        rows += [[_business_graph(capability, w) for w in business[i : i + 2]] for i in range(0, len(business), 2)]
        return rows

    def _api_requests(self, specs: list[Function]) -> list[cw.IMetric]:
        # Per-method metrics exist because the stage has `metrics_enabled` (detailed metrics).
        return [
            cw.Metric(
                namespace="AWS/ApiGateway",
                metric_name="Count",
                dimensions_map={
                    "ApiName": self._settings.prefix,  # the RestApi's name (stacks/api.py)
                    "Stage": self._settings.name,
                    "Method": route.method,
                    "Resource": route.path,
                },
                label=f"{route.method} {route.path}",
                statistic="Sum",
                period=PERIOD,
            )
            for spec in specs
            for route in spec.routes
        ]

    def _queue_row(self, specs: list[Function]) -> list[cw.IWidget]:
        """Dead-letter depth of the queues this capability consumes (and of its stream consumers'
        failure queues), and how old the oldest waiting message is."""
        consumed = [spec.queue for spec in specs if spec.queue]
        dead = [(f"{q}-dlq", self._messaging.dead_letter_queues[q]) for q in consumed] + [
            (spec.stream.failure_queue, self._messaging.failure_queues[spec.stream.failure_queue]) for spec in specs if spec.stream
        ]
        depth = [
            queue.metric_approximate_number_of_messages_visible(label=name, statistic="Maximum", period=PERIOD)
            for name, queue in dead
        ]
        age = [
            self._messaging.queues[q].metric_approximate_age_of_oldest_message(label=q, statistic="Maximum", period=PERIOD)
            for q in consumed
        ]
        return [
            _graph("DLQ depth (messages)", depth) if depth else _note("DLQ depth", "This capability consumes no queue."),
            _graph("Age of oldest message (s)", age) if age else _note("Age of oldest message", "This capability consumes no queue."),
        ]


def _business_graph(capability: str, widget: BusinessWidget) -> cw.GraphWidget:
    pending = [m.name for m in widget.metrics if not m.emitted]
    title = widget.title + (f" — not emitted yet: {', '.join(pending)}" if pending else "")
    return _graph(
        title,
        [
            cw.Metric(
                namespace=NAMESPACE,
                metric_name=m.name,
                dimensions_map={SERVICE_DIMENSION: capability},
                statistic=m.statistic,
                period=Duration.minutes(widget.period_minutes),
                label=m.name,
            )
            for m in widget.metrics
        ],
    )


def _graph(title: str, metrics: Sequence[cw.IMetric], width: int = HALF) -> cw.GraphWidget:
    return cw.GraphWidget(title=title, left=metrics, width=width, height=6)


def _note(title: str, text: str) -> cw.TextWidget:
    return cw.TextWidget(markdown=f"### {title}\n{text}", width=HALF, height=6)
