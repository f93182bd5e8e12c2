"""SQS consumers of bus events, with partial batch failures.

Each record is one EventBridge event (the rule's SQS target delivers the whole envelope), or a
command. A record never blocks the rest of its batch:
- **Poison** (not JSON, not an event, an unexpected detail-type, a contract violation) can never
  succeed: it is sent to the queue's DLQ at once (`loyalty.core.poison`), with the reason in its
  message attributes, and taken off the queue. Should that send fail, it is reported as failed
  instead and reaches the DLQ through the queue's redrive, as before: nothing is lost.
- **Any other failure** is reported in `batchItemFailures`: SQS retries only that record, and after
  the queue's maxReceiveCount it moves to the DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from loyalty.core import errors, poison
from loyalty.core.errors import validation_details
from loyalty.core.observability import lambda_entry, logger, set_correlation_id
from loyalty.core.occurrence import occurrence_key

Command = TypeVar("Command", bound=BaseModel)


class Poison(errors.InvalidInput):
    """A message that breaks its contract: no retry can make it succeed."""


@dataclass(frozen=True)
class BusEvent:
    """The EventBridge envelope; `id` is unique per event and keys idempotency."""

    id: str
    source: str
    detail_type: str
    time: datetime | None
    detail: BaseModel
    correlation_id: str | None = None  # carried from the request or event that caused this one
    # The occurrence it reports (loyalty.core.occurrence): the same when the event is re-published
    # under a new envelope id. Consumers key their idempotency on it.
    occurrence: str = ""


def parse_bus_event(body: str, detail_models: Mapping[str, type[BaseModel]]) -> BusEvent:
    try:
        envelope = json.loads(body)
    except ValueError:
        raise Poison("the message is not JSON", code="MALFORMED_MESSAGE") from None
    if not isinstance(envelope, dict) or not envelope.get("id") or "detail" not in envelope:
        raise Poison("the message is not an EventBridge event", code="MALFORMED_MESSAGE")
    detail_type = envelope.get("detail-type", "")
    model = detail_models.get(detail_type)
    if model is None:
        raise Poison(f"unexpected detail-type {detail_type!r}", code="UNEXPECTED_EVENT")
    try:
        detail = model.model_validate(envelope["detail"])
    except ValidationError as error:
        raise Poison(
            f"{detail_type} breaks the event contract", code="CONTRACT_VIOLATION", details=validation_details(error)
        ) from None
    try:
        time = datetime.fromisoformat(str(envelope["time"]).replace("Z", "+00:00")) if envelope.get("time") else None
    except ValueError:
        raise Poison("the event's time is not ISO 8601", code="MALFORMED_MESSAGE") from None
    carried = envelope["detail"].get("correlationId") if isinstance(envelope["detail"], dict) else None
    return BusEvent(id=str(envelope["id"]), source=envelope.get("source", ""), detail_type=detail_type, time=time, detail=detail,
                    correlation_id=str(carried) if carried else None,
                    occurrence=occurrence_key(detail_type, envelope["detail"], str(envelope["id"])))


def parse_command(body: str, model: type[Command], detail_type: str) -> Command:
    """A command sent straight to the queue, or the same command routed from the bus as `detail`."""
    try:
        data = json.loads(body)
    except ValueError:
        raise Poison("the message is not JSON", code="MALFORMED_MESSAGE") from None
    if isinstance(data, dict) and data.get("detail-type") == detail_type and isinstance(data.get("detail"), dict):
        data = data["detail"]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Poison(
            f"{detail_type} breaks its contract", code="CONTRACT_VIOLATION", details=validation_details(error)
        ) from None


def _carried_correlation(body: str) -> str | None:
    data = json.loads(body)
    detail = data.get("detail", data) if isinstance(data, dict) else {}
    carried = detail.get("correlationId") if isinstance(detail, dict) else None
    return str(carried) if carried else None


def sqs_consumer(
    detail_models: Mapping[str, type[BaseModel]],
) -> Callable[[Callable[[BusEvent], None]], Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Wrap `process(event)` as an SQS handler of bus events, reporting each failed record on its own."""

    def decorate(process: Callable[[BusEvent], None]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def parse_and_process(body: str) -> None:
            bus_event = parse_bus_event(body, detail_models)
            set_correlation_id(bus_event.correlation_id or bus_event.id)
            process(bus_event)

        return _batch_handler(parse_and_process)

    return decorate


def command_consumer(
    model: type[Command], detail_type: str, id_field: str
) -> Callable[[Callable[[Command], None]], Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Wrap `process(command)` as an SQS handler of commands, reporting each failed record on its own."""

    def decorate(process: Callable[[Command], None]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def parse_and_process(body: str) -> None:
            command = parse_command(body, model, detail_type)
            set_correlation_id(_carried_correlation(body) or str(getattr(command, id_field)))
            process(command)

        return _batch_handler(parse_and_process)

    return decorate


def _batch_handler(parse_and_process: Callable[[str], None]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @lambda_entry
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event.get("Records", []):
            message_id = record.get("messageId", "")
            logger.append_keys(message_id=message_id)
            try:
                parse_and_process(record.get("body", ""))
            except Poison as error:
                if not poison.dead_letter(record, error):
                    failures.append({"itemIdentifier": message_id})
            except errors.DomainError as error:
                logger.warning(
                    "message refused; it will reach the DLQ after its retries",
                    extra={"code": error.code, "reason": error.message, "details": error.details},
                )
                failures.append({"itemIdentifier": message_id})
            except Exception:
                logger.exception("message failed; it will be retried")
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    return handler
