"""e2e: start `python -m infra.local run` (what `make run` runs) and drive it as a client would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests

from tests.support.api import Api, eventually, free_port


@dataclass
class RunningSystem:
    process: subprocess.Popen[str]
    api: Api
    aws_endpoint: str


@contextmanager
def running_system() -> Iterator[RunningSystem]:
    """The whole local system on free ports; stopped with Ctrl-C (SIGINT) on the way out."""
    api_port, aws_port = free_port(), free_port()
    env = {**os.environ, "LOCAL_API_PORT": str(api_port), "LOCAL_EMULATOR_PORT": str(aws_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{api_port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the local cloud exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            return requests.get(f"{base}/_local/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        eventually(healthy, timeout_s=60, interval_s=0.2)
        yield RunningSystem(process, Api(base), f"http://127.0.0.1:{aws_port}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)


@pytest.fixture(scope="session")
def system() -> Iterator[RunningSystem]:
    with running_system() as running:
        yield running
