"""The local cloud: the whole system on one machine, generated from `infra.topology`."""

import sys
from pathlib import Path

# Lambda mounts each layer's python/ folder on sys.path; the local cloud does the same.
_LAYER = str(Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "python")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
