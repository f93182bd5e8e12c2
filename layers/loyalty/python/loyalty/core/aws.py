"""AWS clients, created once per process on first use.

boto3 is imported lazily so that a handler module imports fast (cold start); the first call pays
for it once. The endpoint comes from boto3's own `AWS_ENDPOINT_URL`, so the local cloud and AWS
run exactly the same code.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

_lock = threading.Lock()


def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    # boto3.client is not thread-safe on first use of a session; the local cloud runs handlers on
    # threads, and Lambda's one-thread model makes the lock free there.
    with _lock:
        return boto3.client(  # type: ignore[call-overload]
            service,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=50),
        )


@cache
def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


@cache
def sqs() -> SQSClient:
    return _client("sqs")  # type: ignore[no-any-return]


@cache
def events() -> EventBridgeClient:
    return _client("events")  # type: ignore[no-any-return]


@cache
def ssm() -> Any:
    return _client("ssm")
