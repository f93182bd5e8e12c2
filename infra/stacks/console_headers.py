"""The operator console's response headers: a strict Content-Security-Policy and the security headers.

The local cloud sends the same policy (`infra.local.console.CONTENT_SECURITY_POLICY`; a test holds
the two equal), except for the sign-in. Deployed, the console calls the API on its own origin (the
distribution sends `/v1/*` to the API stage) and exchanges the sign-in code at the Cognito domain,
so `connect-src` is `'self'` and that one origin; the local cloud signs in on its own origin too.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

# Every directive but connect-src. style-src 'unsafe-inline': antd (CSS-in-JS) writes <style>
# elements at run time; scripts stay 'self' only, so injected markup still cannot run code.
DIRECTIVES = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("frame-ancestors", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("object-src", "'none'"),
)
HSTS_MAX_AGE = Duration.days(365 * 2)


def content_security_policy(*connect_origins: str) -> str:
    """The policy with `connect-src 'self'` widened to these origins (tokens allowed)."""
    parts = []
    for name, value in DIRECTIVES:
        if name == "connect-src" and connect_origins:
            value = " ".join((value, *connect_origins))
        parts.append(f"{name} {value}")
    return "; ".join(parts)


def security_headers_policy(scope: Construct, construct_id: str, *, name: str, csp: str) -> cloudfront.ResponseHeadersPolicy:
    return cloudfront.ResponseHeadersPolicy(
        scope,
        construct_id,
        response_headers_policy_name=name,
        comment="Operator console: strict CSP, HSTS, nosniff, referrer policy, no framing",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(content_security_policy=csp, override=True),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
            ),
            frame_options=cloudfront.ResponseHeadersFrameOptions(frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
        ),
    )
