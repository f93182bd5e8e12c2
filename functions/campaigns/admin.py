"""Operator API for campaigns: definitions (by hand or from a template), the maker-checker
lifecycle and the kill switch, manual fires, runs, audience uploads, the audit log and the report."""

from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.campaigns import runs, service, templates, uploads
from loyalty.campaigns.model import CampaignDefinition, CampaignRequest, FireRequest, FromTemplate, IssueCouponAction, Transition
from loyalty.campaigns.uploads import AudienceUpload
from loyalty.campaigns.views import (
    CampaignAudit,
    CampaignList,
    CampaignReport,
    CampaignView,
    EffectiveStatus,
    RunView,
    TemplateInfo,
    TemplateList,
    UploadProgress,
    UploadResult,
)
from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, ScopeDep, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import InvalidInput
from loyalty.org.scope import CREATING, BankWide, Creating, Scope, claimed, owned, require_reference

ROOT = "/v1/admin/campaigns"
routes = Routes("campaigns")
# A campaign naming an org unit: the unit is open and holds a pool in the budget's measure (docs/org-units.md);
# a branch's campaign rewards with coupon templates of its own line of the tree (docs/security.md).
POOL_ERRORS = ["CAMPAIGN_ORG_UNIT_INVALID", "CAMPAIGN_POOL_MISMATCH", "CAMPAIGN_REWARD_NOT_FOUND"]

CampaignIdPath = Annotated[str, id_path("The campaign's id.")]
TemplatePath = Annotated[str, id_path("A template's name, from `GET /v1/admin/campaign-templates`.")]
StatusFilter = Annotated[EffectiveStatus | None, Query(description="Only campaigns in this effective status (what they are now).")]
NOT_FOUND = {404: ["CAMPAIGN_NOT_FOUND"]}


def _campaign_unit(campaign_id: str) -> str | None:
    return service.definition_of(service.default_store().get(campaign_id)).orgUnitId


# A campaign belongs to its org unit (none: the head office's): outside the caller's subtree it does not exist.
CAMPAIGN = owned(_campaign_unit, "campaignId", "CAMPAIGN_NOT_FOUND", "campaign {campaignId} does not exist")
ANY_OPERATOR = BankWide()
DefinitionT = TypeVar("DefinitionT", bound=CampaignDefinition)


def _owned(definition: DefinitionT, scope: Scope, *, stored: str | Creating | None = CREATING) -> DefinitionT:
    """The definition with its org unit decided (`claimed`), each coupon template it rewards with on
    that unit's line of the tree (for a branch's operator: another branch's template does not exist)."""
    from loyalty.coupons.ports import template_units

    owned_definition = claimed(definition, scope, "CAMPAIGN_ORG_UNIT_INVALID", stored=stored)
    actions = [*(a for v in owned_definition.variants for a in v.actions), *getattr(owned_definition.trigger, "inviterActions", [])]
    for template_id in sorted({a.templateId for a in actions if isinstance(a, IssueCouponAction)}):
        require_reference(scope, template_units().unit_of(template_id), owned_definition.orgUnitId,
                          code="CAMPAIGN_REWARD_NOT_FOUND", message=f"coupon template {template_id} does not exist")
    return owned_definition


def _campaign_now(call: Call) -> Any:
    return service.view(service.default_store().get(call.path_param("campaignId")), utc_now())


def _campaign_as_stored(call: Call) -> CampaignView:
    """A retry's answer when the first try committed and died before answering: the campaign as it
    now is (the campaign the path names, or the one the body created)."""
    campaign_id = str(call.path_params.get("campaignId") or getattr(call.body, "campaignId", ""))
    return CampaignView.model_validate(service.view(service.default_store().get(campaign_id), utc_now()))


# ---- definitions ---------------------------------------------------------------------------------


@routes.post(
    ROOT,
    scope=ANY_OPERATOR,
    summary="Create a campaign (a draft)",
    status=201,
    replay=_campaign_as_stored,
    links={
        "getCampaign": {"campaignId": "$response.body#/campaignId"},
        "submitCampaign": {"campaignId": "$response.body#/campaignId"},
        "getCampaignReport": {"campaignId": "$response.body#/campaignId"},
    },
    errors={409: ["CAMPAIGN_VERSION_CONFLICT"], 422: POOL_ERRORS},
)
def create_campaign(body: CampaignRequest, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> CampaignView:
    """Saves version 1 of a new campaign as a draft, with the caller as its author. A budget by a
    personal attribute (customerId, deviceHash, ...) is refused: budget by branch, product or
    merchant, and cap a customer with `frequencyCaps`. `CAMPAIGN_VERSION_CONFLICT`: the id is taken.
    Without an `orgUnitId` the campaign is the caller's unit's (a branch's then draws from its pool);
    a unit outside the caller's subtree is `CAMPAIGN_ORG_UNIT_INVALID`."""
    return CampaignView.model_validate(
        service.save(
            service.default_store(), _owned(body, scope), caller.subject, utc_now(), create=True
        )
    )


@routes.get(ROOT, scope=ANY_OPERATOR, summary="List campaigns")
def list_campaigns(scope: ScopeDep, status: StatusFilter = None) -> CampaignList:
    """Every campaign of the caller's subtree with its current version, optionally only those in one
    effective status."""
    now = utc_now()
    views = (service.view(meta, now) for meta in service.default_store().listed())
    return CampaignList(
        items=[
            CampaignView.model_validate(v)
            for v in views
            if (status is None or v["effectiveStatus"] == status) and scope.sees(v.get("orgUnitId"))
        ]
    )


@routes.get(f"{ROOT}/{{campaignId}}", scope=CAMPAIGN, summary="A campaign", errors=NOT_FOUND)
def get_campaign(campaignId: CampaignIdPath) -> CampaignView:
    """The campaign's current version, with its status and who wrote and approved it."""
    return CampaignView.model_validate(service.view(service.default_store().get(campaignId), utc_now()))


@routes.put(
    f"{ROOT}/{{campaignId}}",
    scope=CAMPAIGN,
    summary="Edit a draft campaign (a new version)",
    errors={**NOT_FOUND, 409: ["CAMPAIGN_VERSION_CONFLICT"], 422: POOL_ERRORS},
    audit=Audit(before=_campaign_now),
    replay=_campaign_as_stored,
)
def update_campaign(
    campaignId: CampaignIdPath, body: CampaignRequest, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep
) -> CampaignView:
    """Saves a new version of a draft; the editor becomes its author (and can no longer approve it).
    The body's `campaignId` must be the path's. `CAMPAIGN_VERSION_CONFLICT`: it is no longer a draft,
    or changed meanwhile."""
    if body.campaignId != campaignId:
        raise InvalidInput("the body's campaignId must match the path", code="VALIDATION_ERROR")
    definition = _owned(body, scope, stored=_campaign_unit(campaignId))
    return CampaignView.model_validate(service.save(service.default_store(), definition, caller.subject, utc_now(), create=False))


@routes.get("/v1/admin/campaign-templates", scope=ANY_OPERATOR, summary="List the campaign templates")
def list_campaign_templates() -> TemplateList:
    """Ready-made campaigns (活动模板), each with the parameters it takes."""
    return TemplateList(items=[TemplateInfo.model_validate(t) for t in templates.describe()])


@routes.post(
    "/v1/admin/campaign-templates/{template}/campaigns",
    scope=ANY_OPERATOR,
    summary="Create a campaign from a template",
    status=201,
    errors={404: ["CAMPAIGN_TEMPLATE_NOT_FOUND"], 409: ["CAMPAIGN_VERSION_CONFLICT"], 422: POOL_ERRORS},
    operation_id="createCampaignFromTemplate",
    replay=_campaign_as_stored,
)
def create_from_template(
    template: TemplatePath, body: FromTemplate, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep
) -> CampaignView:
    """The template writes the trigger, audience, variants and caps from its parameters; the result
    is validated like a definition written by hand (400 `VALIDATION_ERROR` naming what is wrong) and
    saved as a draft, the caller's unit's."""
    saved = service.save(
        service.default_store(),
        _owned(templates.build(template, body), scope),
        caller.subject,
        utc_now(),
        create=True,
    )
    return CampaignView.model_validate(saved)


# ---- the maker-checker lifecycle -------------------------------------------------------------------

# action: (summary, description). One route each, with its own operationId.
LIFECYCLE = {
    "submit": ("Submit a draft campaign for approval", "draft → pending_approval. The draft can no longer be edited."),
    "approve": ("Approve a campaign (checker)",
                "pending_approval → approved: active while its window is open. Needs the `approvers` group, and another "
                "operator than the author of the current version (maker-checker)."),
    "reject": ("Reject a campaign back to draft", "pending_approval → draft, to be edited and submitted again."),
    "pause": ("Pause a campaign (the kill switch)", "approved → paused: nothing more is granted, at once."),
    "resume": ("Resume a paused campaign", "paused → approved."),
    "end": ("End a campaign", "Any state but ended → ended, for good."),
}


def _lifecycle_route(action: str, summary: str, description: str) -> None:
    def transition(campaignId: CampaignIdPath, body: Transition, key: IdempotencyKey, caller: CallerDep) -> CampaignView:
        changed = service.transition(service.default_store(), campaignId, action, body, caller, utc_now())
        return CampaignView.model_validate(changed)

    errors: dict[int, list[str]] = {**NOT_FOUND, 409: ["CAMPAIGN_STATE_CONFLICT"], 422: ["INVALID_TRANSITION"]}
    if action == "approve":
        errors[403] = ["APPROVER_REQUIRED", "APPROVER_IS_AUTHOR"]
    transition.__name__ = transition.__qualname__ = f"{action}_campaign"
    transition.__doc__ = (
        f"{description} The note and the change go to the campaign's audit log. `INVALID_TRANSITION`: not from this state."
    )
    routes.post(
        f"{ROOT}/{{campaignId}}/{action}",
        scope=CAMPAIGN,
        summary=summary,
        errors=errors,
        audit=Audit(before=_campaign_now),
        approvers=action == "approve",
        operation_id=f"{action}Campaign",
        replay=_campaign_as_stored,
    )(transition)


for _action, (_summary, _description) in LIFECYCLE.items():
    _lifecycle_route(_action, _summary, _description)


# ---- runs and audiences ----------------------------------------------------------------------------


@routes.post(
    f"{ROOT}/{{campaignId}}/fire",
    scope=CAMPAIGN,
    summary="Fire a campaign (an audience run)",
    status=202,
    idempotency="domain",
    links={"getCampaignRun": {"campaignId": "$response.body#/campaignId", "runId": "$response.body#/runId"}},
    errors={**NOT_FOUND, 409: ["CAMPAIGN_CONTENDED"], 422: ["CAMPAIGN_NOT_ACTIVE"]},
)
def fire_campaign(campaignId: CampaignIdPath, body: FireRequest, key: IdempotencyKey, caller: CallerDep) -> RunView:
    """Starts a run granting the reward to the campaign's audience, or to those of `customerIds` who
    are in it (an override narrows the approved audience, never widens it). The run id derives from
    the caller and the Idempotency-Key: the same request answers the run it started."""
    run = runs.fire(service.default_store(), campaignId, f"api:{caller.subject}:{key}", caller.subject, utc_now(),
                    customer_ids=body.customerIds)
    return RunView.model_validate(run)


@routes.get(f"{ROOT}/{{campaignId}}/runs/{{runId}}", scope=CAMPAIGN, summary="A run's progress", errors={404: ["RUN_NOT_FOUND"]})
def get_campaign_run(campaignId: CampaignIdPath, runId: Annotated[str, id_path("The run's id, from the fire.")]) -> RunView:
    """How far the run got: customers found, processed and granted."""
    return RunView.model_validate(runs.get(service.default_store(), campaignId, runId))


# No replay: a batch's answer (which of its ids were imported, which unknown) is kept nowhere, only the
# upload's totals; a retry of a batch that committed and died is 409 IDEMPOTENCY_COMMITTED.
@routes.post(
    f"{ROOT}/{{campaignId}}/audience-uploads",
    scope=CAMPAIGN,
    summary="Upload a batch of the campaign's audience (CSV)",
    errors={**NOT_FOUND, 400: ["BATCH_TOO_LARGE"], 403: ["APPROVER_REQUIRED", "APPROVER_IS_AUTHOR"], 422: ["INVALID_TRANSITION"]},
)
def upload_audience(campaignId: CampaignIdPath, body: AudienceUpload, key: IdempotencyKey, caller: CallerDep) -> UploadResult:
    """Ids the engine knows join the campaign's uploaded audience; unknown and malformed ones are
    listed in the answer, and the rest still import. Once the campaign is approved, adding to its
    list needs the `approvers` group and another operator than its author. `INVALID_TRANSITION`: the
    campaign has ended."""
    return UploadResult.model_validate(uploads.upload(service.default_store(), campaignId, body, caller, utc_now()))


@routes.get(
    f"{ROOT}/{{campaignId}}/audience-uploads/{{uploadId}}",
    scope=CAMPAIGN,
    summary="An audience upload's progress",
    errors={404: ["UPLOAD_NOT_FOUND"]},
)
def get_audience_upload(campaignId: CampaignIdPath, uploadId: Annotated[str, id_path("The upload's id.")]) -> UploadProgress:
    """What the upload's batches add up to."""
    return UploadProgress.model_validate(uploads.progress(service.default_store(), campaignId, uploadId))


# ---- the audit log and the report ------------------------------------------------------------------


@routes.get(f"{ROOT}/{{campaignId}}/audit", scope=CAMPAIGN, summary="A campaign's audit log", errors=NOT_FOUND)
def get_campaign_audit(campaignId: CampaignIdPath) -> CampaignAudit:
    """Every change to the campaign: who, when, the state before and after, and the note."""
    store = service.default_store()
    store.get(campaignId)
    return CampaignAudit.model_validate({"items": store.audit(campaignId)})


@routes.get(f"{ROOT}/{{campaignId}}/report", scope=CAMPAIGN, summary="A campaign's report", errors=NOT_FOUND)
def get_campaign_report(campaignId: CampaignIdPath) -> CampaignReport:
    """Per arm: targeted; grants by state (granted, compensating, compensated, partly delivered,
    cancelled); notified, redeemed and cost; card spend per targeted customer and each arm's uplift
    against control; the budget used and left per period; and when the budget runs out at the
    current burn."""
    return CampaignReport.model_validate(service.report(service.default_store(), campaignId, utc_now()))


handler = serve(routes)
