"""Operator API for campaigns: definitions (by hand or from a template), the maker-checker
lifecycle and the kill switch, manual fires, runs, the audit log and the report."""

from typing import Any

from loyalty.campaigns import runs, service, templates, uploads
from loyalty.campaigns.model import CampaignDefinition, FireRequest, FromTemplate, Transition
from loyalty.core.clock import utc_now
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, api_router, created, ok
from loyalty.core.idempotency import require_key

ROOT = "/v1/admin/campaigns"
ACTIONS = ("submit", "approve", "reject", "pause", "resume", "end")


@api_handler(body=CampaignDefinition)
def create(request: Request[CampaignDefinition]) -> Response:
    return created(service.save(service.default_store(), request.json_body(), request.caller.subject, utc_now(), create=True))


def _campaign_now(request: Request[Any]) -> Any:
    return service.view(service.default_store().get(request.path_param("campaignId")), utc_now())


@api_handler(body=CampaignDefinition, audit_before=_campaign_now)
def update(request: Request[CampaignDefinition]) -> Response:
    definition = request.json_body()
    if definition.campaignId != request.path_param("campaignId"):
        raise InvalidInput("the body's campaignId must match the path", code="VALIDATION_ERROR")
    return ok(service.save(service.default_store(), definition, request.caller.subject, utc_now(), create=False))


@api_handler(body=FromTemplate)
def create_from_template(request: Request[FromTemplate]) -> Response:
    store, body = service.default_store(), request.json_body()
    return created(service.save_from_template(store, request.path_param("template"), body, request.caller.subject, utc_now()))


@api_handler()
def list_templates(request: Request[Any]) -> Response:
    return ok({"items": templates.describe()})


@api_handler()
def list_campaigns(request: Request[Any]) -> Response:
    now = utc_now()
    return ok({"items": [service.view(m, now) for m in service.default_store().listed()]})


@api_handler()
def get_campaign(request: Request[Any]) -> Response:
    return ok(service.view(service.default_store().get(request.path_param("campaignId")), utc_now()))


def _transition(action: str) -> Any:
    """submit, approve, reject, pause (the kill switch), resume, end: one route each."""

    @api_handler(body=Transition, audit_before=_campaign_now)
    def handle(request: Request[Transition]) -> Response:
        campaign_id = request.path_param("campaignId")
        return ok(service.transition(service.default_store(), campaign_id, action, request.json_body(), request.caller, utc_now()))

    return handle


# The run id derives from the caller and the Idempotency-Key: the same request fires once.
@api_handler(body=FireRequest, idempotency="domain")
def fire(request: Request[FireRequest]) -> Response:
    body = request.json_body()
    run = runs.fire(service.default_store(), request.path_param("campaignId"), f"api:{request.caller.subject}:{require_key(request)}",
                    request.caller.subject, utc_now(), customer_ids=body.customerIds)
    return Response(202, run)


@api_handler(body=uploads.AudienceUpload)
def upload_audience(request: Request[uploads.AudienceUpload]) -> Response:
    campaign_id = request.path_param("campaignId")
    return ok(uploads.upload(service.default_store(), campaign_id, request.json_body(), request.caller, utc_now()))


@api_handler()
def upload_progress(request: Request[Any]) -> Response:
    return ok(uploads.progress(service.default_store(), request.path_param("campaignId"), request.path_param("uploadId")))


@api_handler()
def get_run(request: Request[Any]) -> Response:
    return ok(runs.get(service.default_store(), request.path_param("campaignId"), request.path_param("runId")))


@api_handler()
def audit(request: Request[Any]) -> Response:
    store = service.default_store()
    campaign_id = request.path_param("campaignId")
    store.get(campaign_id)
    entries = [{k: v for k, v in e.items() if k not in ("pk", "sk")} for e in store.audit(campaign_id)]
    return ok({"items": entries})


@api_handler()
def report(request: Request[Any]) -> Response:
    return ok(service.report(service.default_store(), request.path_param("campaignId"), utc_now()))


handler = api_router(
    {
        f"POST {ROOT}": create,
        f"GET {ROOT}": list_campaigns,
        f"GET {ROOT}/{{campaignId}}": get_campaign,
        f"PUT {ROOT}/{{campaignId}}": update,
        **{f"POST {ROOT}/{{campaignId}}/{action}": _transition(action) for action in ACTIONS},
        f"POST {ROOT}/{{campaignId}}/fire": fire,
        f"GET {ROOT}/{{campaignId}}/runs/{{runId}}": get_run,
        f"POST {ROOT}/{{campaignId}}/audience-uploads": upload_audience,
        f"GET {ROOT}/{{campaignId}}/audience-uploads/{{uploadId}}": upload_progress,
        f"GET {ROOT}/{{campaignId}}/audit": audit,
        f"GET {ROOT}/{{campaignId}}/report": report,
        "GET /v1/admin/campaign-templates": list_templates,
        "POST /v1/admin/campaign-templates/{template}/campaigns": create_from_template,
    }
)
