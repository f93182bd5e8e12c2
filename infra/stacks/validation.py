"""Fail at synth, with a clear message, on a topology that would fail (or misbehave) at deploy."""

from __future__ import annotations

import re
from collections import Counter

from infra.stacks.settings import validate_time_zone
from infra.topology import StreamSource, Topology

_VERSIONED = re.compile(r"^/v[0-9]+/")
# SQS names the stacks use for queues that are not in the topology (stacks/messaging.py).
RESERVED_QUEUE_NAMES = frozenset({"bus-dlq"})


def validate_topology(topology: Topology) -> None:
    errors: list[str] = []
    tables = {t.name for t in topology.tables}
    queues = {q.name for q in topology.queues}

    for kind, names in (
        ("table", [t.name for t in topology.tables]),
        ("queue", [q.name for q in topology.queues]),
        ("rule", [r.name for r in topology.rules]),
        ("function", [f.name for f in topology.functions]),
        ("route", [f"{r.method} {r.path}" for r, _ in topology.routes()]),
    ):
        errors += [f"duplicate {kind} {name!r}" for name, n in Counter(names).items() if n > 1]

    for rule in topology.rules:
        if rule.queue not in queues:
            errors.append(f"rule {rule.name!r} targets unknown queue {rule.queue!r}")
    for queue in topology.queues:
        consumers = [f.name for f in topology.functions if f.queue == queue.name]
        if len(consumers) > 1:
            errors.append(f"queue {queue.name!r} has several consumers: {consumers}")
        if queue.batch_size > 10 and not queue.max_batching_window_s:
            errors.append(f"queue {queue.name!r}: batch_size > 10 needs max_batching_window_s")
    for fn in topology.functions:
        errors += [f"function {fn.name!r} uses unknown table {t!r}" for t in fn.tables if t not in tables]
        errors += [f"function {fn.name!r} sends to unknown queue {q!r}" for q in fn.sends_to if q not in queues]
        # The stage is named after the environment, so the version must be in the path.
        errors += [
            f"function {fn.name!r}: route {r.path!r} must start with a version (/v1/...)"
            for r in fn.routes
            if not _VERSIONED.match(r.path)
        ]
        if fn.queue is not None:
            if fn.queue not in queues:
                errors.append(f"function {fn.name!r} consumes unknown queue {fn.queue!r}")
            elif topology.queue(fn.queue).visibility_timeout_s < fn.timeout_s:
                # Lambda refuses the event source mapping otherwise.
                errors.append(f"queue {fn.queue!r} visibility timeout is shorter than {fn.name!r}'s timeout")
        if fn.stream is not None:
            errors += _stream_errors(topology, fn.name, fn.stream)
        for schedule in fn.schedules:
            try:
                validate_time_zone(schedule.timezone)
            except ValueError as exc:
                errors.append(f"schedule {schedule.name!r}: {exc}")
    failure_queues = {fn.stream.failure_queue for fn in topology.functions if fn.stream is not None}
    errors += [f"stream failure queue {name!r} clashes with a topology queue" for name in sorted(failure_queues & queues)]
    sqs_names = queues | {q.dlq_name for q in topology.queues} | failure_queues
    errors += [f"queue name {name!r} is reserved for the bus's own DLQ" for name in sorted(sqs_names & RESERVED_QUEUE_NAMES)]
    if errors:
        raise ValueError("invalid topology:\n  " + "\n  ".join(errors))


# Lambda's limits for a DynamoDB stream event source mapping.
MAX_STREAM_BATCH_SIZE = 10_000
MAX_STREAM_RETRIES = 10_000


def _stream_errors(topology: Topology, function: str, stream: StreamSource) -> list[str]:
    table = next((t for t in topology.tables if t.name == stream.table), None)
    if table is None:
        return [f"function {function!r} consumes the stream of unknown table {stream.table!r}"]
    errors = []
    if not table.stream:
        errors.append(f"function {function!r} consumes the stream of {stream.table!r}, which has stream=False")
    if not 1 <= stream.batch_size <= MAX_STREAM_BATCH_SIZE:
        errors.append(f"function {function!r}: stream batch_size must be 1..{MAX_STREAM_BATCH_SIZE}")
    if not 0 <= stream.max_retries <= MAX_STREAM_RETRIES:
        errors.append(f"function {function!r}: stream max_retries must be 0..{MAX_STREAM_RETRIES}")
    return errors
