"""The operator console (`console/dist`, a Vite build under `/console/`): a private S3 bucket that only
the CloudFront distribution reads (origin access control), behind the edge stack's WAF, with strict
response headers, and its Cognito Hosted UI client.

One build serves every environment: `config.json` beside index.html is written at deploy time from
this stack's tokens (the API's URL, the Hosted UI domain, the app client), in the shape
`console/src/config.ts` parses. The browser holds no secret: the app client is public (no secret)
and signs in with the authorization code flow and PKCE (console/src/auth/pkce.ts).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.stacks.console_headers import content_security_policy, security_headers_policy
from infra.stacks.console_nag import suppress_console
from infra.stacks.settings import EnvironmentSettings

BASE_PATH = "/console/"  # console/vite.config.ts `base`
CALLBACK_PATH = f"{BASE_PATH}auth/callback"  # console/src/auth/pkce.ts redirectUri
SCOPES = ("openid", "email", "profile")  # pkce.ts DEFAULT_SCOPES: ID token claims, nothing more
IMMUTABLE = "public, max-age=31536000, immutable"  # Vite names every asset by its content hash

# Viewer request, before the cache: a path whose last segment has no extension is one of the
# single-page app's routes and gets index.html; a missing file stays a miss (S3 answers 403)
# instead of index.html with 200, which is what a distribution-wide 403/404 error mapping would
# serve for a lost /console/assets/x.js too (a module that fails to parse, cached as a success).
SPA_ROUTING_JS = """\
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === "/" || uri === "/console") {
    return { statusCode: 302, statusDescription: "Found", headers: { location: { value: "/console/" } } };
  }
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  if (uri.indexOf("/console/") === 0 && last.indexOf(".") === -1) {
    request.uri = "/console/index.html";
  }
  return request;
}
"""

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EDGE_CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")


@dataclass(frozen=True)
class ConsoleDomain:
    """The bank's own host name for the console (context `consoleDomain`), with its ACM certificate
    (context `consoleCertificateArn`; CloudFront takes certificates from us-east-1 only)."""

    name: str
    certificate_arn: str


def console_domain(name: Any, certificate_arn: Any) -> ConsoleDomain | None:
    if not name and not certificate_arn:
        return None
    if not isinstance(name, str) or not _HOSTNAME.match(name):
        raise ValueError(f"context 'consoleDomain' must be a lower-case host name such as console.loyalty.bank.example, got {name!r}")
    if not isinstance(certificate_arn, str) or not _EDGE_CERTIFICATE.match(certificate_arn):
        raise ValueError(
            f"context 'consoleDomain' needs 'consoleCertificateArn': an ACM certificate ARN in us-east-1, got {certificate_arn!r}"
        )
    return ConsoleDomain(name=name, certificate_arn=certificate_arn)


def sign_in_domain_prefix(settings: EnvironmentSettings, account: str, region: str) -> str:
    """Hosted UI domain prefixes are unique per region across all of AWS: ours carries a digest of
    the account, not the account ID itself (the sign-in page is public)."""
    return f"{settings.prefix}-staff-{hashlib.sha256(f'{account}/{region}'.encode()).hexdigest()[:10]}"


class ConsoleStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        api_url: str,
        user_pool_id: str,
        web_acl_arn: str,
        log_bucket: s3.IBucket,
        dist: Path,
        domain: ConsoleDomain | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if not (dist / "index.html").is_file():
            raise FileNotFoundError(f"{dist}/index.html does not exist: build the console first (python -m infra.local.console_build)")
        self.settings = settings
        self.domain = domain
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # Only built files live here: every deploy writes them again.
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        user_pool = cognito.UserPool.from_user_pool_id(self, "StaffPool", user_pool_id)
        self.sign_in = cognito.UserPoolDomain(
            self,
            "SignIn",
            user_pool=user_pool,
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=sign_in_domain_prefix(settings, self.account, self.region)),
        )
        # The API's origin: scheme and host of its URL (https://<id>.execute-api.<region>.<suffix>/<stage>/).
        self.api_origin = Fn.join("", ["https://", Fn.select(2, Fn.split("/", api_url))])
        self.content_security_policy = content_security_policy(self.api_origin, self.sign_in.base_url())
        self.distribution = self._distribution(web_acl_arn, log_bucket)
        self.client = self._client(user_pool)
        self.config = {
            "apiUrl": api_url,
            "auth": {"mode": "cognito", "domain": self.sign_in.base_url(), "clientId": self.client.user_pool_client_id, "scopes": list(SCOPES)},
        }
        self.deploy_role = self._deployment(dist)
        suppress_console(self)
        self._outputs()

    @property
    def site_origins(self) -> list[str]:
        hosts = [self.distribution.distribution_domain_name] + ([self.domain.name] if self.domain else [])
        return [f"https://{host}" for host in hosts]

    def _distribution(self, web_acl_arn: str, log_bucket: s3.IBucket) -> cloudfront.Distribution:
        prefix = self.settings.prefix
        self.spa_routing = cloudfront.Function(
            self,
            "SpaRouting",
            comment="Console routes to /console/index.html; / to /console/",
            code=cloudfront.FunctionCode.from_inline(SPA_ROUTING_JS),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.headers = security_headers_policy(self, "Headers", name=f"{prefix}-console-headers", csp=self.content_security_policy)
        tls: dict[str, Any] = {}
        if self.domain is not None:
            tls = {
                "domain_names": [self.domain.name],
                "certificate": acm.Certificate.from_certificate_arn(self, "Certificate", self.domain.certificate_arn),
                "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
                "ssl_support_method": cloudfront.SSLMethod.SNI,
            }
        return cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Loyalty {self.settings.name} operator console",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                function_associations=[
                    cloudfront.FunctionAssociation(function=self.spa_routing, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)
                ],
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix=f"{prefix}-console/",
            **tls,
        )

    def _client(self, user_pool: cognito.IUserPool) -> cognito.UserPoolClient:
        return cognito.UserPoolClient(
            self,
            "Client",
            user_pool=user_pool,
            user_pool_client_name=f"{self.settings.prefix}-console",
            generate_secret=False,  # a browser cannot keep one
            # No SDK sign-in flow: only the Hosted UI signs people in (ALLOW_REFRESH_TOKEN_AUTH remains).
            auth_flows=cognito.AuthFlow(user_srp=False),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],  # = SCOPES
                callback_urls=[origin + CALLBACK_PATH for origin in self.site_origins],
                logout_urls=[origin + BASE_PATH for origin in self.site_origins],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            # The console keeps only the ID token and signs in again when it lapses; the refresh
            # token it drops is as short-lived as Cognito allows.
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(1),
        )

    def _deployment(self, dist: Path) -> iam.Role:
        """Hashed assets first (kept across deploys: an open page may still load the previous
        build's chunks), then index.html and config.json."""
        log_group = logs.LogGroup(self, "DeployLogs", retention=self.settings.log_retention, removal_policy=self.settings.removal_policy)
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies the console build into its bucket and invalidates the distribution",
        )
        log_group.grant_write(role)
        common: dict[str, Any] = {"destination_bucket": self.bucket, "role": role, "log_group": log_group, "prune": False}
        assets = s3deploy.BucketDeployment(
            self,
            "DeployAssets",
            sources=[s3deploy.Source.asset(str(dist / "assets"))],
            destination_key_prefix=f"{BASE_PATH.strip('/')}/assets/",
            cache_control=[s3deploy.CacheControl.from_string(IMMUTABLE)],
            **common,
        )
        self.site_deployment = s3deploy.BucketDeployment(
            self,
            "DeploySite",
            sources=[
                # The build's config.json is the local cloud's (dev sign-in): never shipped.
                s3deploy.Source.asset(str(dist), exclude=["assets", "assets/**", ".vite", ".vite/**", "config.json"]),
                s3deploy.Source.json_data("config.json", self.config),
            ],
            destination_key_prefix=BASE_PATH.strip("/") + "/",
            # Revalidated on every load, by browsers and by CloudFront (the cache policy's minimum
            # TTL is 1 s), so a new build or configuration takes at once without an invalidation
            # (and the deploy role needs no cloudfront:CreateInvalidation, which CDK grants on *).
            cache_control=[s3deploy.CacheControl.no_cache()],
            **common,
        )
        self.site_deployment.node.add_dependency(assets)
        return role

    def _outputs(self) -> None:
        CfnOutput(self, "ConsoleUrl", value=self.site_origins[-1] + BASE_PATH)
        CfnOutput(self, "ConsoleDistributionId", value=self.distribution.distribution_id)
        CfnOutput(self, "ConsoleBucket", value=self.bucket.bucket_name)
        CfnOutput(self, "ConsoleClientId", value=self.client.user_pool_client_id)
        CfnOutput(self, "SignInDomain", value=self.sign_in.base_url())
