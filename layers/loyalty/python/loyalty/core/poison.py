"""Poison goes straight to the DLQ: a message that breaks its contract is sent to its queue's DLQ
(`<queue>-dlq`, the topology's convention) at once, instead of being retried maxReceiveCount times
first. The DLQ is found from the record's own `eventSourceARN`, so every consumer has it without
configuration; its URL is looked up once per process.

The reason travels in the message's attributes (`errorCode`, `errorMessage`, `errorDetails`,
`sourceQueue`, `failedAt`, and `originalMessageId`), so an operator reading the DLQ, or
`make redrive`, sees why without the logs. The body is the original, unchanged.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.errors import DomainError
from loyalty.core.observability import logger

ATTRIBUTE_LIMIT = 1024  # characters kept of a message or details: the reason, not a dump


def dead_letter(record: dict[str, Any], error: DomainError) -> bool:
    """Sends the record to its DLQ with the reason; False (the caller then reports it as failed, so
    the queue's redrive still delivers it to the DLQ) when it cannot."""
    try:
        account, queue = _queue_of(record["eventSourceARN"])
        _send(account, queue, record, error)
    except Exception:
        logger.exception("poison could not be sent to the DLQ; it will get there through its retries")
        return False
    logger.warning("poison sent to the DLQ at once", extra={"code": error.code, "reason": error.message, "queue": queue})
    return True


def _queue_of(arn: str) -> tuple[str, str]:
    parts = arn.split(":")  # arn:<partition>:sqs:<region>:<account>:<name>
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return parts[4], parts[5]


@cache
def _dlq_url(account: str, queue: str) -> str:
    from loyalty.core.aws import sqs

    return sqs().get_queue_url(QueueName=f"{queue}-dlq", QueueOwnerAWSAccountId=account)["QueueUrl"]


def _send(account: str, queue: str, record: dict[str, Any], error: DomainError) -> None:
    from loyalty.core.aws import sqs

    text = {"errorCode": error.code, "errorMessage": error.message[:ATTRIBUTE_LIMIT], "sourceQueue": queue,
            "failedAt": iso_utc(utc_now()), "originalMessageId": str(record.get("messageId", ""))}
    if error.details:
        text["errorDetails"] = json.dumps(error.details, default=str)[:ATTRIBUTE_LIMIT]
    sqs().send_message(QueueUrl=_dlq_url(account, queue), MessageBody=record.get("body", ""),
                       MessageAttributes={name: {"DataType": "String", "StringValue": value or "-"} for name, value in text.items()})
