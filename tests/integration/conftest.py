"""One local cloud per test session: the real handlers against moto over HTTP.

Queues get a 1 s visibility timeout here so retries and DLQ redrive happen within a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from infra.local.cloud import LocalCloud, Ports
from infra.topology import TOPOLOGY, Topology
from tests.support.api import Api, free_port

# Checkout's module fixtures, for its sessions' tests and their races.
from tests.support.checkout import basket_templates, checkout_tap  # noqa: F401
from tests.support.org import ensure_head_office

# A schedule at a fixed hour fires in these tests only when a test fires it (by name): firing at that
# hour in the middle of a run (the nightly re-scoring at 02:00 in the bank's time zone, say) would
# make the run's result depend on the time of day it ran at. A year no run reaches keeps it parsed.
NEVER = "cron(0 0 1 1 ? 2199)"


def fast_retry_topology() -> Topology:
    """The topology with 1 s visibility timeouts (a retry comes at once) and fixed-hour schedules on demand only."""
    functions = tuple(dataclasses.replace(f, schedules=tuple(dataclasses.replace(s, expression=NEVER) if s.expression.startswith("cron(")
                                                             else s for s in f.schedules)) for f in TOPOLOGY.functions)
    return dataclasses.replace(
        TOPOLOGY, queues=tuple(dataclasses.replace(q, visibility_timeout_s=1) for q in TOPOLOGY.queues), functions=functions
    )


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    local = LocalCloud(fast_retry_topology(), Ports(emulator=free_port(), api=free_port())).start()
    # Every operator route is scoped to an org unit: the head office (hq) is there before any test.
    ensure_head_office(Api(local.api_url))
    yield local
    local.stop()


@pytest.fixture(scope="session")
def api(cloud: LocalCloud) -> Api:
    return Api(cloud.api_url)
