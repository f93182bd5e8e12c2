"""The operator console on the local cloud: its built files at /console/ (same origin as the API),
and the development sign-in at /_local/dev-token.

The development sign-in exists only here. A deployed console signs in with the Cognito Hosted UI
(console/public/config.json is replaced at deploy time), and no stack has this route.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local import tokens

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "console" / "dist"
PREFIX = "/console"

# Who the development sign-in offers: a maker, a checker, and one person who is both (the one that
# shows an approver cannot approve their own campaign), all at the head office; an operator of the
# Shanghai branch, who sees only its subtree; and a relationship manager of the Pudong sub-branch, who
# is no operator: their token's subject is the RM that customers' profiles name (their workbench,
# docs/mot.md). `label` names them in the console's languages; `orgUnit` is their org unit (Cognito's
# custom:orgUnit; the demo bank's tree: infra/local/demo_bank.py).
IDENTITIES: list[dict[str, Any]] = [
    {"subject": "op-alice", "groups": ["operators"], "orgUnit": "hq", "label": "operator"},
    {"subject": "op-bob", "groups": ["operators", "approvers"], "orgUnit": "hq", "label": "approver"},
    {"subject": "op-dana", "groups": ["operators", "approvers"], "orgUnit": "hq", "label": "operatorApprover"},
    {"subject": "op-erin", "groups": ["operators"], "orgUnit": "sh", "label": "branchOperator"},
    {"subject": "rm-sh-pudong-1", "groups": ["relationship-managers"], "label": "relationshipManager"},
]
# The console is for the bank's staff: operators (and approvers among them), and relationship managers.
ALLOWED_GROUPS = {"operators", "approvers", "relationship-managers"}
DEFAULT_TTL_S = 15 * 60  # short-lived: the console signs in again rather than hold a long token
MAX_TTL_S = 3600
SUBJECT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# What CloudFront will send with the console: the local cloud sends it too, so a script the policy
# would block fails here first. antd writes its styles at run time, hence style-src 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers={"Cache-Control": "no-store"})


def _refused(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "details": []}}, status)


def dev_token(request: Request) -> Response:
    """GET: the identities on offer. POST {subject, groups, orgUnit?, ttlSeconds?}: a token for one of them."""
    if request.method == "GET":
        return _json({"identities": IDENTITIES, "ttlSeconds": DEFAULT_TTL_S})
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except json.JSONDecodeError:
        return _refused(400, "MALFORMED_JSON", "the body is not JSON")
    subject, groups, ttl, org_unit = body.get("subject"), body.get("groups"), body.get("ttlSeconds", DEFAULT_TTL_S), body.get("orgUnit")
    if not isinstance(subject, str) or not SUBJECT.match(subject):
        return _refused(400, "VALIDATION_ERROR", "subject: 1 to 64 of A-Z a-z 0-9 _ . : -")
    if not isinstance(groups, list) or not groups or not set(groups) <= ALLOWED_GROUPS:
        return _refused(400, "VALIDATION_ERROR", f"groups: one or more of {sorted(ALLOWED_GROUPS)} (the console is for bank staff)")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_S:
        return _refused(400, "VALIDATION_ERROR", f"ttlSeconds: 1 to {MAX_TTL_S}")
    if org_unit is not None and (not isinstance(org_unit, str) or not SUBJECT.match(org_unit)):
        return _refused(400, "VALIDATION_ERROR", "orgUnit: 1 to 64 of A-Z a-z 0-9 _ . : -")
    token = tokens.issue(subject, [str(g) for g in groups], ttl_s=ttl, org_unit=org_unit)
    return _json({"token": token, "expiresInSeconds": ttl})


def _headers(cache: str) -> dict[str, str]:
    return {
        "Cache-Control": cache,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }


def _file(path: Path, cache: str) -> Response:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
        content_type += "; charset=utf-8"
    return Response(path.read_bytes(), content_type=content_type, headers=_headers(cache))


def console_files(request: Request, dist: Path = DIST) -> Response:
    """/console/...: a built file, else index.html for the single-page app's own paths."""
    if request.method not in ("GET", "HEAD"):
        return _refused(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}")
    index = dist / "index.html"
    if not index.is_file():
        message = "The console is not built: `make run` builds it, or `npm --prefix console run build`."
        return Response(message, status=503, content_type="text/plain; charset=utf-8")
    relative = request.path.removeprefix(PREFIX).lstrip("/")
    root = dist.resolve()
    target = (root / relative).resolve() if relative else index
    if not target.is_relative_to(root):
        return _refused(404, "ROUTE_NOT_FOUND", f"no route for GET {request.path}")
    if target.is_file():
        # Vite names every asset by its content hash: cached for good. The rest (index.html,
        # config.json) is checked on every load, so a new build or configuration takes at once.
        immutable = target.parent == root / "assets"
        return _file(target, "public, max-age=31536000, immutable" if immutable else "no-cache")
    if "." in relative.rsplit("/", 1)[-1]:
        return _refused(404, "ROUTE_NOT_FOUND", f"no file {request.path}")
    return _file(index, "no-cache")


def routes() -> dict[str, Any]:
    return {"/_local/dev-token": dev_token, PREFIX: console_files, f"{PREFIX}/": console_files, f"{PREFIX}/<path:asset>": console_files}
