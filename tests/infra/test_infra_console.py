"""The operator console: private bucket behind CloudFront (OAC), HTTPS only, strict headers, the
us-east-1 WAF, the deploy-time config.json, and the public Cognito client it signs in with."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from infra.local.console import CONTENT_SECURITY_POLICY as LOCAL_CSP
from infra.stacks.console import (
    API_KEY_HEADER,
    API_PATH_PATTERN,
    BASE_PATH,
    CONSOLE_API_SHARE_PERCENT,
    SCOPES,
    SPA_ROUTING_JS,
    ConsoleDomain,
    ConsoleStack,
    console_domain,
)
from infra.stacks.console_app import SKIPPED_WITH_IDENTITY_PROVIDER, SKIPPED_WITHOUT_ENVIRONMENT
from infra.stacks.console_edge import EDGE_REGION, MANAGED_RULE_GROUPS, ConsoleEdgeStack
from infra.stacks.console_headers import content_security_policy
from infra.topology import TOPOLOGY
from tests.infra.console_support import (
    ALL_METHODS,
    ALL_VIEWER_EXCEPT_HOST_HEADER,
    CACHING_DISABLED,
    Rendered,
    api_behavior,
    console_stacks,
    only,
    resources_of,
    standalone_console,
)
from tests.infra.infra_support import CONSOLE_ENV, REPO_ROOT, SMALL_TOPOLOGY, Synthesized

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
    config = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == config["DefaultCacheBehavior"]["TargetOriginId"]]
    assert origin["DomainName"] == {"Fn::GetAtt": [_logical_id(site.bucket), "RegionalDomainName"]}
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert resources_of(site, "AWS::CloudFront::CloudFrontOriginAccessIdentity") == {}


def test_viewers_use_https_only(site: ConsoleStack) -> None:
    """Given the distribution / Then the site redirects HTTP to HTTPS, and the API refuses HTTP
    (a redirected POST would lose its body)."""
    config = only(site, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert [(b["PathPattern"], b["ViewerProtocolPolicy"]) for b in config["CacheBehaviors"]] == [(API_PATH_PATTERN, "https-only")]


def test_api_behavior_sends_v1_to_the_api_stage_uncached_with_every_method(
    console_synth: Synthesized, site: ConsoleStack, rendered: Rendered
) -> None:
    """Given the distribution / When a request's path is /v1/... / Then it goes to the loyalty API's
    stage (host and stage from loyalty-staging's API URL) over HTTPS with TLS 1.2, never cached,
    any method, with every viewer header but Host, and the site's security headers on the answer."""
    behavior, origin = api_behavior(site)
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behavior["AllowedMethods"]) == ALL_METHODS
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": _logical_id(site.headers)}
    assert "FunctionAssociations" not in behavior  # the SPA routing is the site's only

    api = urlsplit(rendered.api_url())
    assert rendered(origin["DomainName"]) == api.netloc and api.netloc.endswith(f".execute-api.{CONSOLE_ENV.region}.amazonaws.com")
    stage = console_synth.stack.api.rest_api.deployment_stage
    assert rendered(origin["OriginPath"]) == api.path.rstrip("/") == f"/<{console_synth.logical_id(stage)}>"
    assert "Fn::GetStackOutput" in json.dumps(origin["DomainName"])  # read from loyalty-staging at deploy time
    assert origin["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}
    assert "OriginAccessControlId" not in origin and "S3OriginConfig" not in origin


@pytest.mark.parametrize("topology", [TOPOLOGY, SMALL_TOPOLOGY], ids=["real", "small"])
def test_every_route_is_under_the_api_behavior(topology: Any) -> None:
    """Given the topology / Then every route's path is under /v1/, so the distribution sends it to
    the API; any other path would reach the bucket and answer 403."""
    prefix = API_PATH_PATTERN.removesuffix("*")
    assert [route.path for route, _ in topology.routes() if not route.path.startswith(prefix)] == []


def test_content_security_policy_allows_only_the_console_and_the_sign_in_domain(site: ConsoleStack, rendered: Rendered) -> None:
    """Given the response headers policy / When CloudFormation fills in the Hosted UI domain / Then
    the CSP is the strict one, connect-src 'self' (the API is on the console's origin) and the
    sign-in domain only: no execute-api origin."""
    policy = only(site, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = rendered(policy["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    sign_in = f"https://<{_logical_id(site.sign_in)}>.auth.{CONSOLE_ENV.region}.amazoncognito.com"
    assert csp == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"font-src 'self' data:; connect-src 'self' {sign_in}; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'; object-src 'none'"
    )
    assert "execute-api" not in csp and urlsplit(rendered.api_url()).netloc not in csp
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
    """Given infra/local/console.py's CSP / Then it is the deployed one but for the Hosted UI domain
    (the API is on the console's origin in both; the local cloud signs in on it too), so a script or
    style the deployed policy would block fails under `make run` first."""
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
    # The API's bodies may pass 8 KB (voucher codes, audience uploads): that one rule only counts.
    overrides = {name: r["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides") for name, r in rules.items() if name in managed}
    assert overrides == {
        "AWSManagedRulesCommonRuleSet": [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}],
        "AWSManagedRulesKnownBadInputsRuleSet": None,
        "AWSManagedRulesAmazonIpReputationList": None,
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


def test_config_json_is_written_at_deploy_time_with_the_same_origin_api_and_the_console_client(
    console_synth: Synthesized, site: ConsoleStack, rendered: Rendered
) -> None:
    """Given the site deployment / When CloudFormation fills in its markers / Then config.json is
    what console/src/config.ts parses: the API on the console's own origin, the Hosted UI domain,
    the new client."""
    (deployment,) = [
        d for d in resources_of(site, "Custom::CDKBucketDeployment").values() if d["DestinationBucketKeyPrefix"] == "console/"
    ]
    (i,) = [i for i, markers in enumerate(deployment["SourceMarkers"]) if markers]
    staged = console_synth.outdir / f"asset.{deployment['SourceObjectKeys'][i].removesuffix('.zip')}" / "config.json"
    text = staged.read_text()
    for marker, value in deployment["SourceMarkers"][i].items():
        text = text.replace(marker, rendered(value))
    config = json.loads(text)

    assert "RestApi" not in json.dumps(deployment["SourceMarkers"][i])  # the API's URL is not in it
    assert config["apiUrl"] == "/"
    # config.ts: new URL(apiUrl, window.location.origin), trailing slashes dropped: the page's origin.
    for origin in (f"https://<{_logical_id(site.distribution)}.DomainName>", "https://console.loyalty.bank.example"):
        assert urljoin(origin + "/console/campaigns", config["apiUrl"]).rstrip("/") == origin
    assert config["auth"] == {
        "mode": "cognito",
        "domain": f"https://<{_logical_id(site.sign_in)}>.auth.{CONSOLE_ENV.region}.amazoncognito.com",
        "clientId": f"<{_logical_id(site.client)}>",
        "scopes": list(SCOPES),
    }


def test_console_api_key_is_a_secret_the_api_key_and_the_origin_header_resolve_at_deploy_time(
    site: ConsoleStack, rendered: Rendered
) -> None:
    """Given staging (its API requires keys) / Then a generated Secrets Manager secret holds the
    console's key; the API key's value and CloudFront's x-api-key origin header are both dynamic
    references to it, so the template holds no key."""
    (secret_id,) = resources_of(site, "AWS::SecretsManager::Secret")
    secret = only(site, "AWS::SecretsManager::Secret")
    assert "SecretString" not in secret  # generated by Secrets Manager, never written in the template
    assert secret["GenerateSecretString"] == {"ExcludePunctuation": True, "IncludeSpace": False, "PasswordLength": 40}
    reference = f"{{{{resolve:secretsmanager:<{secret_id}>:SecretString:::}}}}"
    assert rendered(only(site, "AWS::ApiGateway::ApiKey")["Value"]) == reference
    _, origin = api_behavior(site)
    assert [(h["HeaderName"], rendered(h["HeaderValue"])) for h in origin["OriginCustomHeaders"]] == [(API_KEY_HEADER, reference)]


def test_console_usage_plan_covers_the_api_stage_with_a_share_of_its_throttle(
    console_synth: Synthesized, site: ConsoleStack, rendered: Rendered
) -> None:
    """Given staging / Then the console's key is the one key of its own usage plan, on the loyalty
    API's stage (read from loyalty-staging), throttled to a share of the stage, and CloudFront
    sends the key only once the plan holds it."""
    plan_id, plan = next(iter(resources_of(site, "AWS::ApiGateway::UsagePlan").items()))
    (stage,) = plan["ApiStages"]
    rest_api = console_synth.stack.api.rest_api
    assert rendered(stage["ApiId"]) == f"<{console_synth.logical_id(rest_api)}>"
    assert rendered(stage["Stage"]) == f"<{console_synth.logical_id(rest_api.deployment_stage)}>"
    assert "Fn::GetStackOutput" in json.dumps(stage["ApiId"])
    settings = site.settings
    assert plan["UsagePlanName"] == "loyalty-staging-console"
    assert plan["Throttle"] == {
        "RateLimit": settings.api_rate_limit * CONSOLE_API_SHARE_PERCENT // 100,
        "BurstLimit": settings.api_burst_limit * CONSOLE_API_SHARE_PERCENT // 100,
    } == {"RateLimit": 20, "BurstLimit": 40}
    assert plan["Quota"] == {"Limit": settings.api_daily_quota * CONSOLE_API_SHARE_PERCENT // 100, "Period": "DAY"}
    (key_id,) = resources_of(site, "AWS::ApiGateway::ApiKey")
    assert list(resources_of(site, "AWS::ApiGateway::UsagePlanKey").values()) == [
        {"KeyId": {"Ref": key_id}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan_id}}
    ]
    template = Template.from_stack(site).to_json()
    (distribution,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    assert distribution["DependsOn"] == [_logical_id(site.usage_plan_key)]
    assert template["Outputs"]["ConsoleApiKeyId"]["Value"] == {"Ref": key_id}


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


def test_every_console_suppression_is_listed_in_docs(console_synth: Synthesized, site: ConsoleStack, edge: ConsoleEdgeStack) -> None:
    """Given cdk-nag's report for the console's stacks / Then every rule they suppress has a row in
    docs/infra.md's suppression tables."""
    docs = (REPO_ROOT / "docs" / "infra.md").read_text().split("## cdk-nag suppressions", 1)[1].split("\n## ", 1)[0]
    stacks = (f"{site.stack_name}/", f"{edge.stack_name}/")
    suppressed = {r["Rule ID"] for r in console_synth.nag_rows() if r["Compliance"] == "Suppressed" and r["Resource ID"].startswith(stacks)}
    assert "AwsSolutions-SMG4" in suppressed
    assert [rule for rule in sorted(suppressed) if f"| {rule.removeprefix('AwsSolutions-')} " not in docs] == []


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
    API and pool as literals: those stacks read them as deploy-time values anyway)."""
    outdir = tmp_path_factory.mktemp("cdk-console-domain")
    return standalone_console(outdir, "prod", DOMAIN), outdir


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory: pytest.TempPathFactory, console_synth: Synthesized) -> ConsoleStack:
    """Only the console's two stacks, in dev: the API requires no API key there."""
    return standalone_console(tmp_path_factory.mktemp("cdk-console-dev"), "dev")


def test_prod_sends_the_console_api_key_as_a_dynamic_reference_in_a_usage_plan_on_the_api_stage(
    domain_synth: tuple[ConsoleStack, Path],
) -> None:
    """Given prod / Then the /v1/* origin's x-api-key header is a {{resolve:secretsmanager:...}}
    reference to the stack's generated secret (no literal anywhere in the template), the API key's
    value is the same reference, and the console's usage plan holds that key on the API's stage."""
    site, outdir = domain_synth
    (secret_id,) = resources_of(site, "AWS::SecretsManager::Secret")
    reference = {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}
    _, origin = api_behavior(site)
    assert origin["OriginCustomHeaders"] == [{"HeaderName": API_KEY_HEADER, "HeaderValue": reference}]
    ((key_id, key),) = resources_of(site, "AWS::ApiGateway::ApiKey").items()
    assert key["Value"] == reference and key["Enabled"] is True
    assert "SecretString" not in only(site, "AWS::SecretsManager::Secret")
    plan_id, plan = next(iter(resources_of(site, "AWS::ApiGateway::UsagePlan").items()))
    assert plan["ApiStages"] == [{"ApiId": "abc123", "Stage": "prod"}]
    assert plan["Throttle"] == {"RateLimit": 100, "BurstLimit": 200}  # a tenth of prod's stage
    assert list(resources_of(site, "AWS::ApiGateway::UsagePlanKey").values()) == [
        {"KeyId": {"Ref": key_id}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan_id}}
    ]
    assert origin["OriginPath"] == "/prod" and origin["DomainName"] == f"abc123.execute-api.{CONSOLE_ENV.region}.amazonaws.com"
    # Whatever CloudFormation resolves stays out of the outputs.
    outputs = json.loads((outdir / site.template_file).read_text())["Outputs"]
    assert "resolve:secretsmanager" not in json.dumps(outputs)


def test_dev_has_no_console_api_key(dev_site: ConsoleStack) -> None:
    """Given dev (methods do not require keys) / Then no secret, key or usage plan, and the /v1/*
    origin adds no header; the API still answers on the console's origin."""
    for cfn_type in ("AWS::SecretsManager::Secret", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey"):
        assert resources_of(dev_site, cfn_type) == {}
    behavior, origin = api_behavior(dev_site)
    assert "OriginCustomHeaders" not in origin and origin["OriginPath"] == "/dev"
    assert behavior["CachePolicyId"] == CACHING_DISABLED


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
