"""Operator API for scoring: score models (versioned configuration), segments, their members and
size estimates, a customer's scores, the nightly runs' progress, and a relationship manager's
value roll-up."""

from typing import Any

from pydantic import RootModel

from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, api_router, created, ok
from loyalty.scoring import admin, nightly, service
from loyalty.scoring.segments import SegmentDefinition

SEGMENTS = "/v1/admin/segments"


class ModelConfig(RootModel[dict[str, Any]]):
    """Any JSON object: which model it must be depends on the path; the service validates it."""


@api_handler(body=ModelConfig)
def save_model(request: Request[ModelConfig]) -> Response:
    body = request.json_body().root
    return ok(admin.save_model(service.default_store(), request.path_param("model"), body, request.caller.subject, iso_utc(utc_now())))


@api_handler()
def get_model(request: Request[Any]) -> Response:
    version = request.query.get("version")
    if version is not None and not version.isdigit():
        raise InvalidInput("version must be a whole number", code="VALIDATION_ERROR")
    return ok(admin.model_view(service.default_store(), request.path_param("model"), int(version) if version else None))


@api_handler(body=SegmentDefinition)
def create_segment(request: Request[SegmentDefinition]) -> Response:
    return created(admin.save_segment(service.default_store(), request.json_body(), request.caller.subject, iso_utc(utc_now()), create=True))


@api_handler(body=SegmentDefinition)
def update_segment(request: Request[SegmentDefinition]) -> Response:
    definition = request.json_body()
    if definition.segmentId != request.path_param("segmentId"):
        raise InvalidInput("the body's segmentId must match the path", code="VALIDATION_ERROR")
    return ok(admin.save_segment(service.default_store(), definition, request.caller.subject, iso_utc(utc_now()), create=False))


@api_handler()
def list_segments(request: Request[Any]) -> Response:
    return ok({"items": admin.segments(service.default_store())})


@api_handler()
def get_segment(request: Request[Any]) -> Response:
    version = request.query.get("version")
    if version is not None and not version.isdigit():
        raise InvalidInput("version must be a whole number", code="VALIDATION_ERROR")
    record = service.default_store().version("SEGMENT", request.path_param("segmentId"), int(version) if version else None)
    return ok(admin.segment_view(record))


@api_handler()
def members(request: Request[Any]) -> Response:
    limit = admin.limit_of(request.query.get("limit"))
    return ok(admin.members(service.default_store(), request.path_param("segmentId"), limit, request.query.get("cursor")))


@api_handler()
def estimate(request: Request[Any]) -> Response:
    return ok(admin.estimate(service.default_store(), request.path_param("segmentId")))


@api_handler()
def customer_scores(request: Request[Any]) -> Response:
    return ok(admin.plain(service.customer_scores(service.default_store(), request.path_param("customerId"), utc_now())))


@api_handler()
def run_progress(request: Request[Any]) -> Response:
    return ok(nightly.progress_of(service.default_store(), request.path_param("runId")))


@api_handler()
def manager_books(request: Request[Any]) -> Response:
    # A page reads every customer of its managers: at most 100 books (of 20 by default).
    limit = admin.limit_of(request.query.get("limit"), default=20, maximum=100)
    return ok(admin.manager_books(service.default_store(), limit, request.query.get("cursor")))


@api_handler()
def manager_value(request: Request[Any]) -> Response:
    return ok(admin.manager_value(service.default_store(), request.path_param("managerId")))


handler = api_router(
    {
        "GET /v1/admin/scoring/models/{model}": get_model,
        "PUT /v1/admin/scoring/models/{model}": save_model,
        f"POST {SEGMENTS}": create_segment,
        f"GET {SEGMENTS}": list_segments,
        f"GET {SEGMENTS}/{{segmentId}}": get_segment,
        f"PUT {SEGMENTS}/{{segmentId}}": update_segment,
        f"GET {SEGMENTS}/{{segmentId}}/members": members,
        f"GET {SEGMENTS}/{{segmentId}}/estimate": estimate,
        "GET /v1/admin/customers/{customerId}/scores": customer_scores,
        "GET /v1/admin/scoring/runs/{runId}": run_progress,
        "GET /v1/admin/relationship-managers": manager_books,
        "GET /v1/admin/relationship-managers/{managerId}/value": manager_value,
    }
)
