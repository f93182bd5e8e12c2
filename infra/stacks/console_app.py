"""Adds the operator console to the app: `loyalty-<env>-console` in the environment's region and
`loyalty-<env>-console-edge` in us-east-1 (its WAF and access logs; `stacks/console_edge.py`).

Both read what they need from `loyalty-<env>` (the API's URL, ID and stage, the staff user pool)
and from each other through weak cross-stack references (`Fn::GetStackOutput`). A reference across
regions needs both regions known, so the console is added only when the app has an account and region
(`cdk deploy` always has them: CDK_DEFAULT_ACCOUNT/REGION from the credentials). It is also left
out when the bank's own identity provider replaces Cognito: the console signs in with the Cognito
Hosted UI only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, App, Environment, Tags, Token

from infra.stacks.assets import REPO_ROOT
from infra.stacks.console import ConsoleApi, ConsoleStack, console_domain
from infra.stacks.console_edge import EDGE_REGION, ConsoleEdgeStack
from infra.stacks.loyalty_stack import LoyaltyStack

CONSOLE_DIST = REPO_ROOT / "console" / "dist"
SKIPPED_WITHOUT_ENVIRONMENT = (
    "Operator console not synthesized: its WAF lives in us-east-1, and a cross-region reference needs "
    "an explicit account and region (set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, as cdk deploy does)."
)
SKIPPED_WITH_IDENTITY_PROVIDER = (
    "Operator console not deployed: it signs in with the Cognito Hosted UI, and context identityProvider "
    "replaces the user pool."
)


@dataclass(frozen=True)
class ConsoleStacks:
    edge: ConsoleEdgeStack
    site: ConsoleStack


def add_console(app: App, loyalty: LoyaltyStack, *, dist: Path = CONSOLE_DIST) -> ConsoleStacks | None:
    settings = loyalty.settings
    domain = console_domain(app.node.try_get_context("consoleDomain"), app.node.try_get_context("consoleCertificateArn"))
    user_pool = loyalty.api.user_pool
    rest_api = loyalty.api.rest_api
    if user_pool is None:
        Annotations.of(loyalty).add_info(SKIPPED_WITH_IDENTITY_PROVIDER)
        return None
    if Token.is_unresolved(loyalty.account) or Token.is_unresolved(loyalty.region):
        Annotations.of(loyalty).add_warning_v2("loyalty:consoleNeedsEnvironment", SKIPPED_WITHOUT_ENVIRONMENT)
        return None
    edge = ConsoleEdgeStack(
        app,
        f"{settings.prefix}-console-edge",
        settings=settings,
        description=f"Loyalty engine ({settings.name}): operator console WAF and access logs (us-east-1)",
        env=Environment(account=loyalty.account, region=EDGE_REGION),
        termination_protection=settings.is_prod,
    )
    site = ConsoleStack(
        app,
        f"{settings.prefix}-console",
        settings=settings,
        api=ConsoleApi(
            url=rest_api.url, rest_api_id=rest_api.rest_api_id, stage_name=rest_api.deployment_stage.stage_name
        ),
        user_pool_id=user_pool.user_pool_id,
        web_acl_arn=edge.web_acl.attr_arn,
        log_bucket=edge.log_bucket,
        dist=dist,
        domain=domain,
        description=f"Loyalty engine ({settings.name}): operator console",
        env=Environment(account=loyalty.account, region=loyalty.region),
        termination_protection=settings.is_prod,
    )
    for stack in (edge, site):
        Tags.of(stack).add("project", "loyalty")
        Tags.of(stack).add("environment", settings.name)
        Tags.of(stack).add("capability", "console")
    return ConsoleStacks(edge=edge, site=site)
