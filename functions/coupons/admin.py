"""Operator API for coupon templates under /v1/admin/coupon-templates."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, api_router, created, ok
from loyalty.coupons import service
from loyalty.coupons.model import CodeUpload, StatusChange, StockAddition, TemplateCreate

BASE = "/v1/admin/coupon-templates"


@api_handler(body=TemplateCreate)
def create(request: Request[TemplateCreate]) -> Response:
    template = service.create_template(service.default_store(), request.json_body(), request.caller.subject, utc_now())
    return created(template.view())


@api_handler()
def get(request: Request[Any]) -> Response:
    return ok(service.template_view(service.default_store(), request.path_param("templateId")))


@api_handler()
def list_(request: Request[Any]) -> Response:
    limit = request.query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise InvalidInput("limit must be 1 to 100", code="VALIDATION_ERROR")
    templates, cursor = service.default_store().list_templates(int(limit), request.query.get("cursor"))
    return ok({"items": [t.view() for t in templates], "nextCursor": cursor})


def _template_now(request: Request[Any]) -> Any:
    return service.template_view(service.default_store(), request.path_param("templateId"))


@api_handler(body=StatusChange, audit_before=_template_now)
def change_status(request: Request[StatusChange]) -> Response:
    template = service.change_status(service.default_store(), request.path_param("templateId"), request.json_body().status, utc_now())
    return ok(template.view())


@api_handler(body=StockAddition, audit_before=_template_now)
def add_stock(request: Request[StockAddition]) -> Response:
    template = service.add_stock(service.default_store(), request.path_param("templateId"), request.json_body().add, utc_now())
    return ok(template.view())


@api_handler(body=CodeUpload)
def upload_codes(request: Request[CodeUpload]) -> Response:
    upload_id = request.idempotency_key or ""
    return created(service.upload_codes(service.default_store(), request.path_param("templateId"), request.json_body(), upload_id))


handler = api_router(
    {
        f"POST {BASE}": create,
        f"GET {BASE}": list_,
        f"GET {BASE}/{{templateId}}": get,
        f"PUT {BASE}/{{templateId}}/status": change_status,
        f"POST {BASE}/{{templateId}}/stock": add_stock,
        f"POST {BASE}/{{templateId}}/codes": upload_codes,
    }
)
