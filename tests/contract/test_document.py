"""The OpenAPI document: valid 3.1, generated from the routes the functions serve, complete enough
for a bank's engineers to generate a client and never read our code."""

from __future__ import annotations

import json
import re
from typing import Any

from openapi_spec_validator import validate

from infra.openapi import DOCUMENT_PATH, render
from infra.topology import TOPOLOGY
from tests.e2e.conftest import RunningSystem

METHODS = ("get", "put", "post", "delete", "patch")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items() if method in METHODS]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    # Given the generated document, when the reference validator reads it, then it finds nothing
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_committed_document_is_what_the_code_generates(document: dict[str, Any]) -> None:
    # Given docs/openapi.json as committed, then it is exactly what the routes generate now (else: make openapi)
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(document), "docs/openapi.json is stale: run `make openapi`"


def test_the_served_document_is_the_committed_one(system: RunningSystem) -> None:
    # Given `make run`, when a client fetches /openapi.json, then it gets the committed file
    served = system.api.session.get(system.api.base_url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.text == DOCUMENT_PATH.read_text(encoding="utf-8")


def test_the_interactive_reference_ships_its_own_assets(system: RunningSystem) -> None:
    # Given `make run`, when a person opens /docs, then Swagger UI comes with the page, from no CDN
    page = system.api.session.get(system.api.base_url + "/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "SwaggerUIBundle" in page.text
    assert not re.search(r"""(src|href)=['"]https?://""", page.text)


def test_the_document_has_exactly_the_routes_the_topology_deploys(document: dict[str, Any]) -> None:
    # Given the routes API Gateway sends to functions, and the routes the functions serve
    deployed = {(route.path, route.method.lower()) for route, _ in TOPOLOGY.routes()}
    documented = {(path, method) for path, method, _ in operations(document)}
    # Then they are the same set: nothing served is undocumented, nothing documented is unserved
    assert documented == deployed


def test_every_operation_is_described_for_a_client_generator(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        assert op.get("summary") and not op["summary"].startswith(method.upper() + " /"), f"{where}: no summary"
        assert len(op.get("tags", [])) == 1, f"{where}: one tag per capability"
        assert op.get("security"), f"{where}: no security"
        statuses = set(op["responses"])
        assert statuses & {"200", "201", "202"}, f"{where}: no success response"
        assert {"400", "401", "429", "500"} <= statuses, f"{where}: {sorted(statuses)}"
        for status, response in op["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            assert schema, f"{where} {status}: no schema"
            if status.startswith(("4", "5")):
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{where} {status}"
                assert response["content"]["application/json"]["examples"], f"{where} {status}: no codes"
        for parameter in op.get("parameters", []):
            assert parameter["schema"], f"{where}: {parameter['name']} is untyped"


def test_every_mutating_call_takes_a_typed_idempotency_key_unless_it_changes_nothing(document: dict[str, Any]) -> None:
    quotes = {("/v1/points/quote", "post"), ("/v1/coupons/{couponId}/quote", "post"),
              ("/v1/admin/customers/{customerId}/export", "post"), ("/v1/checkout/quote", "post")}
    for path, method, op in operations(document):
        if method == "get" or (path, method) in quotes:
            continue
        keys = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"].lower() == "idempotency-key"]
        assert keys, f"{method.upper()} {path}: no Idempotency-Key"
        assert keys[0]["required"] and keys[0]["schema"]["maxLength"] == 128 and keys[0]["schema"]["pattern"]


def test_every_request_body_carries_an_example(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if "requestBody" not in op:
            continue
        media = op["requestBody"]["content"]["application/json"]
        schema = resolve(document, media["schema"])
        assert media.get("examples") or media.get("example") or schema.get("examples"), f"{method.upper()} {path}: no example"


def test_both_security_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"customer", "operator"}
    for path, method, op in operations(document):
        used = {name for requirement in op["security"] for name in requirement}
        staff = path.startswith(("/v1/admin", "/v1/rm/"))
        assert ("operator" in used) if staff else ("customer" in used), f"{method} {path}"
        if staff:
            assert used == {"operator"}, f"{method} {path}: only the bank's staff"
        if path.startswith("/v1/rm/"):  # the staff's token, in the relationship managers' group only
            assert op["security"] == [{"operator": ["relationship-managers"]}], f"{method} {path}"


def test_the_document_renders_deterministically(document: dict[str, Any]) -> None:
    from infra.openapi import generate

    assert json.dumps(generate()) == json.dumps(document)


def test_every_link_names_an_operation_and_its_parameters(document: dict[str, Any]) -> None:
    # Given the links from creations to what reads or changes the created thing
    by_id = {op["operationId"]: op for _, _, op in operations(document)}
    links = [(op["operationId"], link) for _, _, op in operations(document)
             for response in op["responses"].values() for link in response.get("links", {}).values()]
    assert len(links) >= 10
    # Then each targets an operation that takes those parameters
    for source, link in links:
        target = by_id[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", [])}
        assert set(link["parameters"]) <= names, f"{source} -> {link['operationId']}: {link['parameters']}"


def test_each_function_serves_exactly_the_routes_api_gateway_sends_it() -> None:
    from infra.openapi import api_functions, routes_of

    for function in api_functions():
        # Given the routes API Gateway sends to this function, and those its handler serves
        deployed = {(route.method, route.path) for route in function.routes}
        served = {(options.method, options.path) for routes in routes_of(function) for options in routes.options}
        # Then they are the same
        assert served == deployed, function.name


def test_no_two_models_share_a_schema_name(document: dict[str, Any]) -> None:
    # Two pydantic models of one name get module-qualified names (`loyalty__points__views__QuoteView`):
    # the name clients were generated with would change under them. Each schema keeps its own plain name.
    qualified = [name for name in document["components"]["schemas"] if "__" in name]
    assert qualified == [], f"rename one of each pair: {qualified}"
