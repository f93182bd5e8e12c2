"""The operator console: private bucket behind CloudFront (OAC), HTTPS only, strict headers, the
us-east-1 WAF, the deploy-time config.json, and the public Cognito client it signs in with."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match
from cdk_nag import AwsSolutionsChecks

from infra.local.console import CONTENT_SECURITY_POLICY as LOCAL_CSP
from infra.stacks import settings_for
from infra.stacks.console import BASE_PATH, SCOPES, SPA_ROUTING_JS, ConsoleDomain, ConsoleStack, console_domain
from infra.stacks.console_app import CONSOLE_DIST, SKIPPED_WITH_IDENTITY_PROVIDER, SKIPPED_WITHOUT_ENVIRONMENT
from infra.stacks.console_edge import EDGE_REGION, MANAGED_RULE_GROUPS, ConsoleEdgeStack
from infra.stacks.console_headers import content_security_policy
from infra.topology import DEFAULT_BANK_TIME_ZONE
from tests.infra.console_support import Rendered, console_stacks, only, resources_of
from tests.infra.infra_support import CONSOLE_ENV, REPO_ROOT, Synthesized, cdk_json_context

DOMAIN = ConsoleDomain("console.loyalty.bank.example", "arn:aws:acm:us-east-1:111111111111:certificate/12345678-1234-1234-1234-123456789012")


@pytest.fixture(scope="module")
def rendered(console_synth: Synthesized) -> Rendered:
    return Rendered(console_synth)


@pytest.fixture(scope="module")
def site(console_synth: Synthesized) -> ConsoleStack:
    return console_stacks(console_synth)[0]


@pytest.fixture(scope="module")
def edge(console_synth: Synthesized) -> ConsoleEdgeStack:
    return console_stacks(console_synth)[1]


def _logical_id(construct: Any) -> str:
    cfn = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    stack = cdk.Stack.of(cfn)
    return str(stack.resolve(stack.get_logical_id(cfn)))


def test_console_stacks_are_the_site_in_the_main_region_and_the_edge_in_us_east_1(
    console_synth: Synthesized, site: ConsoleStack, edge: ConsoleEdgeStack
) -> None:
    """Given an account and region / Then loyalty-<env>-console beside the API, its edge stack in us-east-1."""
    assert site.stack_name == "loyalty-staging-console" and site.region == CONSOLE_ENV.region
    assert edge.stack_name == "loyalty-staging-console-edge" and edge.region == EDGE_REGION == "us-east-1"
    assert site.account == edge.account == console_synth.stack.account
    assert {console_synth.stack, edge} <= set(site.dependencies)


def test_bucket_blocks_all_public_access_and_only_the_distribution_reads_it(site: ConsoleStack) -> None:
    """Given the console bucket / Then public access is blocked, TLS is required, and the only read
    grant is CloudFront's service principal for this one distribution, signed with OAC (no OAI)."""
    bucket = only(site, "AWS::S3::Bucket")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    statements = only(site, "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    distribution_id = _logical_id(site.distribution)
    (read,) = [s for s in statements if s["Effect"] == "Allow" and "s3:GetObject" in json.dumps(s["Action"])]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in read["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    # The other Allow is CDK's auto-delete handler, a role of this stack; nothing is granted to "*".
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in statements if s["Effect"] == "Allow")
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)

    oac = only(site, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == ("s3", "always", "sigv4")
    (origin,) = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [_logical_id(site.bucket), "RegionalDomainName"]}
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert resources_of(site, "AWS::CloudFront::CloudFrontOriginAccessIdentity") == {}


def test_viewers_are_redirected_to_https(site: ConsoleStack) -> None:
    config = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]
    behaviors = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    assert [b["ViewerProtocolPolicy"] for b in behaviors] == ["redirect-to-https"]
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]


def test_content_security_policy_allows_only_the_console_the_api_and_the_sign_in_domain(
    site: ConsoleStack, rendered: Rendered
) -> None:
    """Given the response headers policy / When CloudFormation fills in the API and the Hosted UI
    domain / Then the CSP is the strict one, connect-src widened to exactly those two origins."""
    policy = only(site, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = rendered(policy["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    api = urlsplit(rendered.api_url())
    sign_in = f"https://<{_logical_id(site.sign_in)}>.auth.{CONSOLE_ENV.region}.amazoncognito.com"
    assert csp == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"font-src 'self' data:; connect-src 'self' https://{api.netloc} {sign_in}; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'; object-src 'none'"
    )
    assert api.netloc.endswith(f".execute-api.{CONSOLE_ENV.region}.amazonaws.com")
    assert policy["ContentSecurityPolicy"]["Override"] is True


def test_security_headers_hsts_nosniff_referrer_policy_and_no_framing(site: ConsoleStack) -> None:
    policy = only(site, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert policy["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert policy["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert policy["ContentTypeOptions"] == {"Override": True}
    assert policy["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert policy["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    behavior = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": _logical_id(site.headers)}


def test_the_local_cloud_sends_the_same_policy() -> None:
    """Given infra/local/console.py's CSP / Then it is the deployed one with the API on the same origin,
    so a script or style the deployed policy would block fails under `make run` first."""
    assert content_security_policy() == LOCAL_CSP


def test_waf_web_acl_is_cloudfront_scoped_in_us_east_1_and_associated_with_the_distribution(
    site: ConsoleStack, edge: ConsoleEdgeStack, rendered: Rendered
) -> None:
    """Given the edge stack / Then a CLOUDFRONT web ACL with a per-IP rate limit and the AWS managed
    rule groups, and the distribution's WebACLId reads its ARN across regions (Fn::GetStackOutput)."""
    acl = only(edge, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "CLOUDFRONT" and acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    assert rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"] == {"Limit": site.settings.waf_rate_limit, "AggregateKeyType": "IP"}
    assert rules["rate-limit-per-ip"]["Action"] == {"Block": {}}
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert managed == set(MANAGED_RULE_GROUPS) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])

    web_acl_id = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]["WebACLId"]
    assert web_acl_id["Fn::GetStackOutput"]["StackName"] == edge.stack_name
    assert web_acl_id["Fn::GetStackOutput"]["Region"] == "us-east-1"
    assert rendered(web_acl_id) == f"<{_logical_id(edge.web_acl)}.Arn>"


def test_distribution_logs_to_the_edge_log_bucket(site: ConsoleStack, edge: ConsoleEdgeStack, rendered: Rendered) -> None:
    logging = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]["Logging"]
    assert rendered(logging["Bucket"]) == f"<{_logical_id(edge.log_bucket)}.RegionalDomainName>"
    bucket = only(edge, "AWS::S3::Bucket")
    # CloudFront standard logging writes with an ACL grant: ACLs must stay enabled on this bucket.
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90  # staging keeps logs 3 months


def test_config_json_is_written_at_deploy_time_with_the_api_url_and_the_console_client(
    console_synth: Synthesized, site: ConsoleStack, rendered: Rendered
) -> None:
    """Given the site deployment / When CloudFormation fills in its markers / Then config.json is
    what console/src/config.ts parses: the loyalty API's URL, the Hosted UI domain, the new client."""
    (deployment,) = [
        d for d in resources_of(site, "Custom::CDKBucketDeployment").values() if d["DestinationBucketKeyPrefix"] == "console/"
    ]
    (i,) = [i for i, markers in enumerate(deployment["SourceMarkers"]) if markers]
    staged = console_synth.outdir / f"asset.{deployment['SourceObjectKeys'][i].removesuffix('.zip')}" / "config.json"
    text = staged.read_text()
    for marker, value in deployment["SourceMarkers"][i].items():
        text = text.replace(marker, rendered(value))
    config = json.loads(text)

    api_url_marker = next(v for v in deployment["SourceMarkers"][i].values() if "RestApi" in json.dumps(v))
    assert "Fn::GetStackOutput" in json.dumps(api_url_marker)  # a token from loyalty-staging, not a literal
    assert config["apiUrl"] == rendered.api_url()
    assert config["apiUrl"].startswith("https://<ApiRestApi") and config["apiUrl"].endswith("/")
    assert config["auth"] == {
        "mode": "cognito",
        "domain": f"https://<{_logical_id(site.sign_in)}>.auth.{CONSOLE_ENV.region}.amazoncognito.com",
        "clientId": f"<{_logical_id(site.client)}>",
        "scopes": list(SCOPES),
    }


def test_the_builds_own_config_json_and_manifest_are_not_shipped(console_synth: Synthesized, site: ConsoleStack) -> None:
    """Given console/dist (whose config.json is the local cloud's dev sign-in) / Then the staged site
    holds index.html and no config.json, no .vite manifest; the hashed assets go separately."""
    deployments = {d["DestinationBucketKeyPrefix"]: d for d in resources_of(site, "Custom::CDKBucketDeployment").values()}
    assert set(deployments) == {"console/", "console/assets/"}
    site_asset = console_synth.outdir / f"asset.{deployments['console/']['SourceObjectKeys'][0].removesuffix('.zip')}"
    shipped = {p.relative_to(site_asset).as_posix() for p in site_asset.rglob("*")}
    assert "index.html" in shipped
    assert not {"config.json", ".vite", "assets"} & shipped
    assert deployments["console/assets/"]["SystemMetadata"] == {"cache-control": "public, max-age=31536000, immutable"}
    assert deployments["console/"]["SystemMetadata"] == {"cache-control": "no-cache"}
    assert deployments["console/"]["Prune"] is False and deployments["console/assets/"]["Prune"] is False


def test_console_client_is_public_with_the_code_flow_and_callbacks_on_the_distribution(site: ConsoleStack) -> None:
    """Given the console's app client / Then no secret, authorization code only (the console adds
    PKCE), no SDK sign-in flows, callback and logout URLs on the CloudFront domain."""
    client = only(site, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == list(SCOPES)
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    domain = {"Fn::GetAtt": [_logical_id(site.distribution), "DomainName"]}
    assert client["CallbackURLs"] == [{"Fn::Join": ["", ["https://", domain, "/console/auth/callback"]]}]
    assert client["LogoutURLs"] == [{"Fn::Join": ["", ["https://", domain, "/console/"]]}]
    assert "Fn::GetStackOutput" in client["UserPoolId"]  # the staff pool of loyalty-staging


def test_base_and_callback_paths_match_the_console_sources() -> None:
    vite = (REPO_ROOT / "console" / "vite.config.ts").read_text()
    assert re.search(r'base:\s*"([^"]+)"', vite).group(1) == BASE_PATH  # type: ignore[union-attr]
    pkce = (REPO_ROOT / "console" / "src" / "auth" / "pkce.ts").read_text()
    assert "${base}auth/callback" in pkce
    assert re.search(r"DEFAULT_SCOPES = \[([^\]]+)\]", pkce).group(1).replace('"', "").split(", ") == list(SCOPES)  # type: ignore[union-attr]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/console/", "/console/index.html"),
        ("/console/campaigns/c-1/report", "/console/index.html"),
        ("/console/auth/callback", "/console/index.html"),
        ("/console/assets/index-Ab12.js", "/console/assets/index-Ab12.js"),
        ("/console/config.json", "/console/config.json"),
        ("/console/assets/missing.js", "/console/assets/missing.js"),
        ("/", "302 /console/"),
        ("/console", "302 /console/"),
        ("/elsewhere", "/elsewhere"),
    ],
)
def test_spa_routing_function_serves_index_html_for_routes_only(uri: str, expected: str) -> None:
    """Given the viewer-request function / When a path comes in / Then routes (no extension) get
    index.html, files keep their path (a missing one stays a miss), / and /console redirect."""
    script = SPA_ROUTING_JS + (
        f"var r = handler({{request: {{uri: {json.dumps(uri)}}}}});"
        "console.log(r.statusCode ? r.statusCode + ' ' + r.headers.location.value : r.uri);"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.strip()
    assert out == expected


def test_distribution_associates_the_routing_function_on_viewer_request(site: ConsoleStack) -> None:
    behavior = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [_logical_id(site.spa_routing), "FunctionARN"]}}
    ]
    function = only(site, "AWS::CloudFront::Function")
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["AutoPublish"] is True


def test_no_console_without_an_account_and_region(synth: Synthesized) -> None:
    """Given an environment-agnostic synth / Then only loyalty-<env>, and a warning says why."""
    assert synth.top_level == [synth.stack]
    warnings = synth.annotations.find_warning("*", Match.string_like_regexp(re.escape(SKIPPED_WITHOUT_ENVIRONMENT[:40]) + ".*"))
    assert len(warnings) == 1


def test_no_console_with_a_bank_identity_provider(idp_synth: Synthesized) -> None:
    assert idp_synth.top_level == [idp_synth.stack]
    infos = idp_synth.annotations.find_info("*", Match.string_like_regexp(re.escape(SKIPPED_WITH_IDENTITY_PROVIDER[:40]) + ".*"))
    assert len(infos) == 1


def test_make_deploy_builds_the_console_before_cdk_deploy() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "$(PY) -m infra.local.console_build" in recipe
    assert recipe.index("infra.local.console_build") < recipe.index("$(CDK) deploy")


@pytest.mark.parametrize(
    ("name", "arn", "message"),
    [
        ("console.bank.example", None, "consoleCertificateArn"),
        (None, DOMAIN.certificate_arn, "consoleDomain"),
        ("Console.Bank.Example", DOMAIN.certificate_arn, "host name"),
        ("console.bank.example", DOMAIN.certificate_arn.replace("us-east-1", "ap-southeast-1"), "us-east-1"),
    ],
)
def test_custom_domain_context_fails_fast(name: str | None, arn: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        console_domain(name, arn)


def test_no_custom_domain_context_means_the_cloudfront_name() -> None:
    assert console_domain(None, None) is None
    assert console_domain(DOMAIN.name, DOMAIN.certificate_arn) == DOMAIN


@pytest.fixture(scope="module")
def domain_synth(tmp_path_factory: pytest.TempPathFactory, console_synth: Synthesized) -> tuple[ConsoleStack, Path]:
    """Only the console's two stacks, in prod, with the bank's own host name and certificate (the
    API URL and pool ID as literals: those stacks read them as deploy-time values anyway)."""
    outdir = tmp_path_factory.mktemp("cdk-console-domain")
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    settings = settings_for("prod", DEFAULT_BANK_TIME_ZONE)
    edge = ConsoleEdgeStack(app, "console-edge", settings=settings, env=cdk.Environment(account=CONSOLE_ENV.account, region=EDGE_REGION))
    site = ConsoleStack(
        app,
        "console",
        settings=settings,
        api_url="https://abc123.execute-api.ap-southeast-1.amazonaws.com/prod/",
        user_pool_id="ap-southeast-1_AbCdEf123",
        web_acl_arn=edge.web_acl.attr_arn,
        log_bucket=edge.log_bucket,
        dist=CONSOLE_DIST,
        domain=DOMAIN,
        env=CONSOLE_ENV,
    )
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()
    return site, outdir


def test_custom_domain_gets_its_certificate_with_tls_1_2_2021_and_its_own_callbacks(domain_synth: tuple[ConsoleStack, Path]) -> None:
    """Given consoleDomain and consoleCertificateArn / Then the distribution answers on that name
    with SNI and TLSv1.2_2021 at least, and the client accepts callbacks there too."""
    site, outdir = domain_synth
    config = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert config["Aliases"] == [DOMAIN.name]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": DOMAIN.certificate_arn,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    client = only(site, "AWS::Cognito::UserPoolClient")
    assert f"https://{DOMAIN.name}/console/auth/callback" in client["CallbackURLs"]
    assert f"https://{DOMAIN.name}/console/" in client["LogoutURLs"]
    outputs = json.loads((outdir / site.template_file).read_text())["Outputs"]
    assert outputs["ConsoleUrl"]["Value"] == f"https://{DOMAIN.name}/console/"


def test_custom_domain_needs_no_tls_suppression(domain_synth: tuple[ConsoleStack, Path]) -> None:
    """Given a custom domain / Then cdk-nag finds CFR4 (TLS policy) compliant, not suppressed, and
    nothing non-compliant in either stack; prod keeps the access logs."""
    import csv

    _, outdir = domain_synth
    rows = [row for report in outdir.glob("AwsSolutions-*-NagReport.csv") for row in csv.DictReader(report.open())]
    assert {r["Compliance"] for r in rows if r["Rule ID"] == "AwsSolutions-CFR4"} == {"Compliant"}
    assert [r for r in rows if r["Compliance"] == "Non-Compliant"] == []
    edge_template = json.loads((outdir / "console-edge.template.json").read_text())
    (bucket,) = [r for r in edge_template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert bucket["DeletionPolicy"] == "Retain"
