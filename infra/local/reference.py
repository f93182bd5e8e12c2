"""`/openapi.json` and `/docs` on the local API: the generated document, and Swagger UI for it.

Swagger UI's script and style sheet come from the Powertools package (it ships them for
`enable_swagger`), inlined into the page: nothing is fetched from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from infra.topology import Topology

_documents: dict[int, str] = {}


def document_text(topology: Topology) -> str:
    """Generated once per topology (it imports every API function, as their first calls would)."""
    from infra.openapi import generate, render

    if id(topology) not in _documents:
        _documents[id(topology)] = render(generate(topology))
    return _documents[id(topology)]


def api_reference(topology: Topology) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    html = generate_swagger_html(
        spec=document_text(topology),
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    )
    return html.replace("<title>Swagger UI</title>", "<title>Loyalty engine API</title>")
