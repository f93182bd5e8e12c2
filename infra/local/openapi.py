"""The OpenAPI 3 document, generated from the topology and each handler's body model."""

from __future__ import annotations

import re
from typing import Any

from infra.local.gateway import HandlerRegistry
from infra.topology import Topology

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "array"}},
        }
    },
}
STANDARD_ERRORS = {"400": "invalid request", "401": "no or bad token", "403": "not allowed", "404": "not found",
                   "413": "body over 64 KB", "422": "business rule refused it", "429": "throttled"}


def openapi_document(topology: Topology, registry: HandlerRegistry) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route, function in topology.routes():
        operation: dict[str, Any] = {
            "operationId": f"{function.name}.{route.method.lower()}",
            "tags": [function.capability],
            "security": [{"bearer": []}],
            "x-audience": route.audience,
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in re.findall(r"{(\w+)}", route.path)
            ],
            "responses": {
                "200": {"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}},
                **{
                    code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                    for code, text in STANDARD_ERRORS.items()
                },
            },
        }
        handler = registry.get(function)
        handler = getattr(handler, "routes", {}).get(f"{route.method} {route.path}", handler)
        if route.method in ("POST", "PUT", "PATCH", "DELETE") and getattr(handler, "idempotency", "record") != "none":
            operation["parameters"].append(
                {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string", "maxLength": 128}}
            )
        body_model = getattr(handler, "body_model", None)
        if body_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body_model.model_json_schema()}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Loyalty engine API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
