"""Powertools singletons, shared by every handler in a process.

The Tracer is created only when tracing is on, and then on the first invocation, not at import:
creating it imports the X-Ray SDK, which pulls in botocore, urllib3, wrapt and asyncio (124 to
182 ms of the first call, measured by `make bench`), even when Powertools would then disable it.
Tracing is on when Lambda runs the function with active tracing (it then sets
`AWS_XRAY_DAEMON_ADDRESS`) and `POWERTOOLS_TRACE_DISABLED` does not turn it off.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()
# The correlation id of the invocation on this thread. Lambda runs one invocation at a time per
# process, but the local cloud runs many handlers in one process on their own threads: the
# logger's own field would leak between them.
_invocation = threading.local()


def set_correlation_id(correlation_id: str | None) -> None:
    _invocation.correlation_id = correlation_id
    logger.set_correlation_id(correlation_id)


def correlation_id() -> str | None:
    return getattr(_invocation, "correlation_id", None)

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@functools.cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # Only botocore: every AWS call becomes a subsegment; nothing else is worth the import time.
    return Tracer(patch_modules=["botocore"])


def tracing_enabled() -> bool:
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")
    return not disabled and bool(os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))


def count(name: str, value: int = 1) -> None:
    """A business metric (docs/observability.md lists the names each dashboard plots): namespace and
    the `service` dimension come from the function's environment. Never fails the business
    operation it counts."""
    from loyalty.core.config import get_settings

    if not value or get_settings().powertools_metrics_disabled:
        return
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    except Exception:  # a metric is not worth a failed grant or claim
        logger.warning("business metric not recorded", extra={"metric": name}, exc_info=True)


def lambda_entry(handler: LambdaHandler) -> LambdaHandler:
    """Wraps a handler with logging context, tracing and metrics, built on its first invocation."""
    built: list[LambdaHandler] = []

    @functools.wraps(handler)
    def entry(event: dict[str, Any], context: Any) -> Any:
        set_correlation_id(None)  # set again by the request or event, if it carries one
        if not built:
            traced = tracer().capture_lambda_handler(handler, capture_response=False) if tracing_enabled() else handler
            built.append(metrics.log_metrics(logger.inject_lambda_context(traced, clear_state=True)))
        return built[0](event, context)

    return entry
