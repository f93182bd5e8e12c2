"""boto3 clients for the local cloud's own plumbing (provisioning, pollers, seeding)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@dataclass(frozen=True)
class Clients:
    dynamodb: Any
    sqs: Any
    events: Any
    dynamodbstreams: Any  # the stream pollers (infra/local/streams.py)

    @classmethod
    def for_endpoint(cls, endpoint_url: str) -> Clients:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        )
        config = Config(retries={"mode": "standard", "max_attempts": 2}, max_pool_connections=64)
        return cls(
            *(session.client(s, endpoint_url=endpoint_url, config=config) for s in ("dynamodb", "sqs", "events", "dynamodbstreams"))  # type: ignore[call-overload]
        )
