"""Operator API for coupon templates under /v1/admin/coupon-templates."""

from typing import Annotated, Any

from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, ScopeDep, serve
from loyalty.core.api_params import Cursor, id_path, limit_query
from loyalty.core.clock import utc_now
from loyalty.coupons import service
from loyalty.coupons.model import CodeUpload, StatusChange, StockAddition, TemplateCreate
from loyalty.coupons.views import CodeUploadResult, TemplatePage, TemplateView, TemplateWithStock
from loyalty.org.scope import BankWide, claimed, owned

BASE = "/v1/admin/coupon-templates"
routes = Routes("coupons")
TemplateIdPath = Annotated[str, id_path("The template id.")]
NOT_FOUND = {404: ["TEMPLATE_NOT_FOUND"]}
# A template belongs to its org unit (none: the head office's): outside the caller's subtree it does not exist.
TEMPLATE = owned(
    lambda template_id: service.default_store().get_template(template_id, fresh=True).definition.orgUnitId,
    "templateId",
    "TEMPLATE_NOT_FOUND",
    "coupon template {templateId} does not exist",
)
ANY_OPERATOR = BankWide()


def _template_now(call: Call) -> Any:
    return service.template_view(service.default_store(), call.path_param("templateId"))


def _template_as_stored(call: Call) -> TemplateView:
    """A retry's answer when the first try committed and died before answering."""
    template_id = str(call.path_params.get("templateId") or getattr(call.body, "templateId", ""))
    return TemplateView.model_validate(service.default_store().get_template(template_id, fresh=True).view())


@routes.post(
    BASE,
    scope=ANY_OPERATOR,
    summary="Create a coupon template",
    status=201,
    replay=_template_as_stored,
    links={
        "getCouponTemplate": {"templateId": "$response.body#/templateId"},
        "changeCouponTemplateStatus": {"templateId": "$response.body#/templateId"},
        "addCouponStock": {"templateId": "$response.body#/templateId"},
    },
    errors={400: ["VALIDATION_ERROR"], 409: ["TEMPLATE_EXISTS"], 422: ["ORG_UNIT_INVALID"]},
)
def create_coupon_template(body: TemplateCreate, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> TemplateView:
    """A template of one of eight kinds (fixed amount, threshold, percentage, random amount, red
    packet, gift, voucher code, bundle), with its stock, shards, validity, limits, eligibility and
    funding. It starts as `draft`: activate it to open claims. It is the caller's unit's unless it
    names another of their subtree (`orgUnitId`; outside it: 422 `ORG_UNIT_INVALID`)."""
    return TemplateView.model_validate(
        service.create_template(service.default_store(), claimed(body, scope), caller.subject, utc_now()).view()
    )


@routes.get(BASE, scope=ANY_OPERATOR, summary="List coupon templates", errors={400: ["INVALID_CURSOR"]})
def list_coupon_templates(scope: ScopeDep, limit: Annotated[int, limit_query()] = 20, cursor: Cursor = None) -> TemplatePage:
    """Newest first, those of the caller's subtree only: a page may hold fewer than `limit` (even
    none) and still have a next one."""
    templates, next_cursor = service.default_store().list_templates(limit, cursor)
    return TemplatePage.model_validate(
        {"items": [t.view() for t in templates if scope.sees(t.definition.orgUnitId)], "nextCursor": next_cursor}
    )


@routes.get(f"{BASE}/{{templateId}}", scope=TEMPLATE, summary="A coupon template, with the stock left", errors=NOT_FOUND)
def get_coupon_template(templateId: TemplateIdPath) -> TemplateWithStock:
    return TemplateWithStock.model_validate(service.template_view(service.default_store(), templateId))


@routes.put(
    f"{BASE}/{{templateId}}/status",
    scope=TEMPLATE,
    summary="Activate, pause or end a template",
    errors={**NOT_FOUND, 409: ["VERSION_CONFLICT"], 422: ["INVALID_STATUS_TRANSITION"]},
    audit=Audit(before=_template_now),
    replay=_template_as_stored,
)
def change_coupon_template_status(templateId: TemplateIdPath, body: StatusChange, key: IdempotencyKey) -> TemplateView:
    """Pausing stops claims at once (every stock shard carries the template's active flag); an
    ended template never opens again."""
    return TemplateView.model_validate(service.change_status(service.default_store(), templateId, body.status, utc_now()).view())


@routes.post(
    f"{BASE}/{{templateId}}/stock",
    scope=TEMPLATE,
    summary="Add stock to a template",
    errors={**NOT_FOUND, 409: ["VERSION_CONFLICT"], 422: ["USE_CODE_UPLOAD", "TEMPLATE_ENDED"]},
    audit=Audit(before=_template_now),
    replay=_template_as_stored,
)
def add_coupon_stock(templateId: TemplateIdPath, body: StockAddition, key: IdempotencyKey) -> TemplateView:
    """Spread over the template's shards."""
    return TemplateView.model_validate(service.add_stock(service.default_store(), templateId, body.add, utc_now()).view())


def _upload_resumed(call: Call) -> CodeUploadResult:
    """A retry's answer when the first try committed and died before answering: the upload is named by
    its Idempotency-Key, so it is resumed under it (its chunks applied already are skipped, nothing is
    added twice), and its answer is the one the first try would have given."""
    upload: CodeUpload = call.body  # type: ignore[assignment]
    key = call.idempotency_key or ""
    return CodeUploadResult.model_validate(
        service.upload_codes(service.default_store(), call.path_param("templateId"), upload, key)
    )


@routes.post(
    f"{BASE}/{{templateId}}/codes",
    scope=TEMPLATE,
    summary="Upload voucher codes",
    status=201,
    replay=_upload_resumed,
    errors={**NOT_FOUND, 400: ["DUPLICATE_CODES"], 409: ["DUPLICATE_CODES"], 422: ["NOT_A_VOUCHER_TEMPLATE", "TEMPLATE_ENDED"]},
)
def upload_voucher_codes(templateId: TemplateIdPath, body: CodeUpload, key: IdempotencyKey) -> CodeUploadResult:
    """Up to 1,000 third-party codes a call, each issued once; a code seen before is refused. The
    Idempotency-Key names the upload."""
    return CodeUploadResult.model_validate(service.upload_codes(service.default_store(), templateId, body, key))


handler = serve(routes)
