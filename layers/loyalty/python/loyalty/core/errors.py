"""Domain errors. They carry a stable error code; `loyalty.core.api_conventions` maps each kind to a status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


class DomainError(Exception):
    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class InvalidInput(DomainError):
    """The request or event is malformed or breaks the contract (400)."""

    code = "VALIDATION_ERROR"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    """The request clashes with the current state (409)."""

    code = "CONFLICT"


class BusinessRuleViolation(DomainError):
    """Well-formed, but a business rule refuses it (422)."""

    code = "BUSINESS_RULE_VIOLATION"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class Throttled(DomainError):
    code = "THROTTLED"


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    """A pydantic error as the API's and the DLQ's details: one `{field, problem}` per problem."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
        for e in error.errors(include_url=False, include_input=False, include_context=False)
    ]
