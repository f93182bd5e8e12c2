"""The local cloud a section measures on: its own emulator and API, with the org tree's head office
(every operator route's org scope needs it: docs/security.md, "Org units and scope")."""

from __future__ import annotations

from infra.local.cloud import LocalCloud, Ports
from infra.topology import TOPOLOGY
from tests.support.api import Api, free_port
from tests.support.org import ensure_head_office


def local_cloud() -> LocalCloud:
    cloud = LocalCloud(TOPOLOGY, Ports(emulator=free_port(), api=free_port())).start()
    ensure_head_office(Api(cloud.api_url))
    return cloud
