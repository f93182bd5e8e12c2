"""Operator API for scoring: score models (versioned configuration), segments, their members and
size estimates, a customer's scores, the nightly runs' progress, and relationship managers' value
roll-ups."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import ConfigDict, RootModel

from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, ScopeDep, serve
from loyalty.core.api_params import Cursor, CustomerIdPath, id_path, limit_query
from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.errors import Conflict, InvalidInput, NotFound
from loyalty.org.scope import BankWide, HeadOffice, claimed, customers_own, owned, visible_customers
from loyalty.scoring import admin, nightly, service
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.segments import SegmentDefinition
from loyalty.scoring.views import (
    CustomerScoresView,
    ManagerBook,
    ManagerBooksPage,
    ModelName,
    RunProgressView,
    ScoreModelView,
    SegmentEstimate,
    SegmentList,
    SegmentMembersPage,
    SegmentView,
)

SEGMENTS = "/v1/admin/segments"
routes = Routes("scoring")


def _segment_unit(segment_id: str) -> str | None:
    return SegmentDefinition.model_validate_json(service.default_store().version("SEGMENT", segment_id)["definition"]).orgUnitId


# Segments belong to an org unit; score models, the nightly runs and the managers' books are the bank's.
SEGMENT = owned(_segment_unit, "segmentId", "SEGMENT_NOT_FOUND", "segment {segmentId} does not exist")
SCORED_CUSTOMER = customers_own("SCORES_NOT_FOUND", "customer {customerId} has not been scored")
ANY_OPERATOR, HEAD_OFFICE = BankWide(), HeadOffice()


ModelPath = Annotated[ModelName, Path(description="The score model.")]
SegmentIdPath = Annotated[str, id_path("The segment's id.")]
RunIdPath = Annotated[str, Path(pattern=r"^(latest|\d{4}-\d{2}-\d{2})$", description="The run's business day (YYYY-MM-DD), or `latest`.")]
ManagerIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The relationship manager's id, as core banking names them.")]


class ModelConfig(RootModel[dict[str, Any]]):
    """A score model's configuration: its schema is the model's own (`RfmModel` for rfm, `ValueModel`
    for value, `LifecycleModel`, `ChurnModel`, `AbuseModel`), so any object is taken here and the
    model's schema is checked when it is saved (a 400 naming each problem)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**DEFAULT_MODELS["rfm"], "windowDays": 90, "recencyCuts": [3, 10, 30, 60]},
                {**DEFAULT_MODELS["churn"], "intercept": -2.5},
                {**DEFAULT_MODELS["abuse"], "gateAtOrAbove": 70},
            ]
        }
    )


@routes.get(
    "/v1/admin/scoring/models/{model}",
    scope=ANY_OPERATOR,
    summary="A score model's configuration",
    operation_id="getScoreModel",
    errors={404: ["MODEL_NOT_FOUND"]},
)
def get_model(
    model: ModelPath,
    version: Annotated[int | None, Query(ge=0, description="A saved version (0: the built-in default); the one in force if left out.")] = None,
) -> ScoreModelView:
    """The version in force, or the version asked for (every version saved stays readable)."""
    return ScoreModelView.model_validate(admin.model_view(service.default_store(), model, version))


def _model_as_stored(call: Call) -> ScoreModelView:
    """A retry's answer when the first try committed and died before answering: the version in force."""
    return ScoreModelView.model_validate(admin.model_view(service.default_store(), call.path_param("model")))


def _segment_as_stored(call: Call) -> SegmentView:
    """A retry's answer when the first try committed and died before answering: the segment's current
    version (the segment the path names)."""
    return SegmentView.model_validate(admin.segment_view(service.default_store().version("SEGMENT", call.path_param("segmentId"))))


def _created_segment(call: Call) -> SegmentView:
    """As `_segment_as_stored`, for the segment the body created. Its id is reserved, then its first
    version saved, in two transactions: a crash between them leaves no version to answer with."""
    try:
        saved = service.default_store().version("SEGMENT", getattr(call.body, "segmentId", ""))
    except NotFound:
        raise Conflict("this request was applied in part, but its answer was lost: read the segment", code="IDEMPOTENCY_COMMITTED") from None
    return SegmentView.model_validate(admin.segment_view(saved))


@routes.put(
    "/v1/admin/scoring/models/{model}",
    scope=HEAD_OFFICE,
    summary="Save a score model's configuration",
    operation_id="saveScoreModel",
    errors={409: ["VERSION_CONFLICT"]},
    replay=_model_as_stored,
)
def save_model(model: ModelPath, body: ModelConfig, key: IdempotencyKey, caller: CallerDep) -> ScoreModelView:
    """A valid configuration becomes the next version and is in force at once (within the rules cache
    time on other instances); customers are re-scored with it as their events come and by the nightly
    run. An invalid one is a 400 naming each problem and changes nothing. 409 when another save of
    the same model won the race: read it and save again."""
    saved = admin.save_model(service.default_store(), model, body.root, caller.subject, iso_utc(utc_now()))
    return ScoreModelView.model_validate(saved)


@routes.post(
    SEGMENTS,
    scope=ANY_OPERATOR,
    summary="Create a segment",
    status=201,
    operation_id="createSegment",
    replay=_created_segment,
    links={
        "getSegment": {"segmentId": "$response.body#/segmentId"},
        "estimateSegment": {"segmentId": "$response.body#/segmentId"},
        "listSegmentMembers": {"segmentId": "$response.body#/segmentId"},
    },
    errors={
        409: ["SEGMENT_EXISTS", "VERSION_CONFLICT", "IDEMPOTENCY_COMMITTED"],
        422: ["SEGMENT_LIMIT_REACHED", "ORG_UNIT_INVALID"],
    },
)
def create_segment(body: SegmentDefinition, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> SegmentView:
    """Version 1 of a new segment (客群). Customers enter it as they are re-scored. A segment id is taken
    once; at most 40 segments exist (a re-scoring writes every membership change in one transaction)."""
    saved = admin.save_segment(service.default_store(), claimed(body, scope), caller.subject, iso_utc(utc_now()), create=True)
    return SegmentView.model_validate(saved)


@routes.put(
    f"{SEGMENTS}/{{segmentId}}",
    scope=SEGMENT,
    summary="Update a segment",
    operation_id="updateSegment",
    errors={404: ["SEGMENT_NOT_FOUND"], 409: ["VERSION_CONFLICT"], 422: ["ORG_UNIT_INVALID"]},
    replay=_segment_as_stored,
)
def update_segment(
    segmentId: SegmentIdPath, body: SegmentDefinition, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep
) -> SegmentView:
    """Saves the definition as the segment's next version (the body's `segmentId` must be the path's).
    Members enter and leave as they are re-scored; an inactive segment loses its members that way."""
    if body.segmentId != segmentId:
        raise InvalidInput(
            "the body's segmentId must match the path",
            code="VALIDATION_ERROR",
            details=[{"field": "segmentId", "in": "body", "problem": "must match the path's segmentId"}],
        )
    definition = claimed(body, scope, stored=_segment_unit(segmentId))
    saved = admin.save_segment(service.default_store(), definition, caller.subject, iso_utc(utc_now()), create=False)
    return SegmentView.model_validate(saved)


@routes.get(SEGMENTS, scope=ANY_OPERATOR, summary="List segments", operation_id="listSegments", errors={400: ["INVALID_CURSOR"]})
def list_segments(
    scope: ScopeDep, limit: Annotated[int, limit_query(default=50, maximum=100)] = 50, cursor: Cursor = None
) -> SegmentList:
    """The current version of every segment of the caller's subtree, by id. The default page holds
    every segment (there are at most 40)."""
    page = admin.segments(service.default_store(), limit, cursor)
    return SegmentList.model_validate({**page, "items": [s for s in page["items"] if scope.sees(s.get("orgUnitId"))]})


@routes.get(
    f"{SEGMENTS}/{{segmentId}}",
    scope=SEGMENT,
    summary="A segment's definition",
    operation_id="getSegment",
    errors={404: ["SEGMENT_NOT_FOUND"]},
)
def get_segment(
    segmentId: SegmentIdPath,
    version: Annotated[int | None, Query(ge=1, description="A saved version; the current one if left out.")] = None,
) -> SegmentView:
    """The current version, or the version asked for (every version saved stays readable)."""
    return SegmentView.model_validate(admin.segment_view(service.default_store().version("SEGMENT", segmentId, version)))


@routes.get(
    f"{SEGMENTS}/{{segmentId}}/members",
    scope=SEGMENT,
    summary="A segment's members",
    operation_id="listSegmentMembers",
    errors={400: ["INVALID_CURSOR"], 404: ["SEGMENT_NOT_FOUND"]},
)
def members(
    segmentId: SegmentIdPath,
    scope: ScopeDep,
    limit: Annotated[int, limit_query(default=50, maximum=500)] = 50,
    cursor: Cursor = None,
) -> SegmentMembersPage:
    """The customers in the segment as of their last scoring, page by page, ordered by customer id:
    those of the caller's subtree (a page may hold fewer than `limit` and still have a next one)."""
    page = admin.members(service.default_store(), segmentId, limit, cursor)
    shown = visible_customers(scope, [m["customerId"] for m in page["items"]])
    return SegmentMembersPage.model_validate({**page, "items": [m for m in page["items"] if m["customerId"] in shown]})


@routes.get(
    f"{SEGMENTS}/{{segmentId}}/estimate",
    scope=SEGMENT,
    summary="Estimate a segment's size",
    operation_id="estimateSegment",
    errors={404: ["SEGMENT_NOT_FOUND"]},
)
def estimate(segmentId: SegmentIdPath) -> SegmentEstimate:
    """The segment's current rule applied to up to 5,000 scored customers (their facts and scores as
    of their last scoring): exact when every scored customer fits in the sample, otherwise scaled to
    the customers the last nightly run saw."""
    return SegmentEstimate.model_validate(admin.estimate(service.default_store(), segmentId))


@routes.get(
    "/v1/admin/customers/{customerId}/scores",
    scope=SCORED_CUSTOMER,
    summary="A customer's scores",
    operation_id="getCustomerScores",
    errors={404: ["SCORES_NOT_FOUND"]},
)
def customer_scores(customerId: CustomerIdPath) -> CustomerScoresView:
    """The scores, lifecycle stage, segments and model versions of the customer's last scoring, and
    their features as of today. 404 for a customer never scored."""
    return CustomerScoresView.model_validate(admin.plain(service.customer_scores(service.default_store(), customerId, utc_now())))


@routes.get(
    "/v1/admin/scoring/runs/{runId}",
    scope=HEAD_OFFICE,
    summary="A nightly scoring run's progress",
    operation_id="getScoringRun",
    errors={404: ["RUN_NOT_FOUND"]},
)
def run_progress(runId: RunIdPath) -> RunProgressView:
    """How far the nightly run of that business day got (`latest`: the newest run)."""
    return RunProgressView.model_validate(nightly.progress_of(service.default_store(), runId))


@routes.get(
    "/v1/admin/relationship-managers",
    scope=HEAD_OFFICE,
    summary="List relationship managers' books",
    operation_id="listManagerBooks",
    errors={400: ["INVALID_CURSOR"]},
)
def manager_books(limit: Annotated[int, limit_query(default=20, maximum=100)] = 20, cursor: Cursor = None) -> ManagerBooksPage:
    """Every relationship manager's book, whole books page by page. A page reads every customer of its
    managers, hence at most 100 books a page."""
    return ManagerBooksPage.model_validate(admin.manager_books(service.default_store(), limit, cursor))


@routes.get(
    "/v1/admin/relationship-managers/{managerId}/value",
    scope=HEAD_OFFICE,
    summary="A relationship manager's book",
    operation_id="getManagerBook",
)
def manager_value(managerId: ManagerIdPath) -> ManagerBook:
    """Their customers and the sum and mean of their value scores (客户贡献分值), as of each customer's
    last scoring. The engine keeps no register of managers: one without customers has an empty book."""
    return ManagerBook.model_validate(admin.manager_value(service.default_store(), managerId))


handler = serve(routes)
