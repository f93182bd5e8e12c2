"""Where code assets live on disk, and how they are packaged (no Docker, no downloads at synth)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[2]

# Never ship caches or editor/test debris into a Lambda package.
ASSET_EXCLUDES = [
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/.DS_Store",
]

_DEPENDENCY_LAYER_README = """\
Placeholder created by `cdk synth` so the asset exists.

`make deploy` fills this directory with
`pip install --platform manylinux2014_aarch64 --only-binary=:all: -t build/dependency-layer/python
-r layers/dependencies/requirements.txt`. Deploying the placeholder ships an empty layer.
"""


@dataclass(frozen=True)
class SourceLayout:
    """The on-disk layout the stacks package from; tests point it at a temporary tree."""

    root: Path = REPO_ROOT

    @property
    def functions_dir(self) -> Path:
        return self.root / "functions"

    @property
    def domain_layer_dir(self) -> Path:
        return self.root / "layers" / "loyalty"

    @property
    def dependency_layer_dir(self) -> Path:
        return self.root / "build" / "dependency-layer"

    def function_dir(self, capability: str) -> Path:
        path = self.functions_dir / capability
        if not path.is_dir():
            raise FileNotFoundError(f"function code directory {path} does not exist")
        return path

    def ensure_dependency_layer(self) -> bool:
        """Make sure the dependency-layer asset exists; returns True if it holds real packages."""
        site = self.dependency_layer_dir / "python"
        if not site.is_dir():
            site.mkdir(parents=True, exist_ok=True)
        marker = self.dependency_layer_dir / "README.md"
        populated = any(p.name != ".keep" for p in site.iterdir())
        if not populated and not marker.exists():
            marker.write_text(_DEPENDENCY_LAYER_README)
        return populated


def code_from(path: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(str(path), exclude=ASSET_EXCLUDES)
