"""CDK app: `cdk synth -c env=dev|staging|prod [-c bankTimeZone=Asia/Shanghai] [-c alarmEmail=ops@bank]
[-c identityProvider='{"issuer": "https://idp.bank.example/", "audience": "loyalty-api"}']
[-c consoleDomain=console.loyalty.bank.example -c consoleCertificateArn=arn:aws:acm:us-east-1:...]`.

Everything deployed is generated from `infra.topology.TOPOLOGY`; cdk-nag's AwsSolutions pack
checks the result on every synth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python infra/app.py` as well as `python -m infra.app`
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.stacks import LoyaltyStack, SourceLayout, settings_for  # noqa: E402
from infra.stacks.console_app import CONSOLE_DIST, add_console  # noqa: E402
from infra.topology import DEFAULT_BANK_TIME_ZONE, TOPOLOGY, Topology  # noqa: E402

DEFAULT_ENV = "dev"


def build(
    app: cdk.App,
    *,
    topology: Topology = TOPOLOGY,
    source: SourceLayout | None = None,
    env: cdk.Environment | None = None,
    console_dist: Path = CONSOLE_DIST,
) -> LoyaltyStack:
    """Add the loyalty stack for the context's environment to `app`, and the operator console's
    stacks when the environment is known (`stacks/console_app.py`), with cdk-nag applied. `env`
    defaults to CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION, as the CDK CLI sets them."""
    env_name = str(app.node.try_get_context("env") or DEFAULT_ENV)
    time_zone = str(app.node.try_get_context("bankTimeZone") or DEFAULT_BANK_TIME_ZONE)
    alarm_email = app.node.try_get_context("alarmEmail")
    api_clients = app.node.try_get_context("apiClients")
    settings = settings_for(env_name, time_zone, alarm_email=str(alarm_email) if alarm_email else None,
                            api_clients=str(api_clients) if api_clients else None,
                            budget_burn_alarm_per_hour=int(burn) if (burn := app.node.try_get_context("budgetBurnAlarmPerHour")) else None,
                            identity_provider=app.node.try_get_context("identityProvider"))
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if env is None and account and region:
        env = cdk.Environment(account=account, region=region)
    stack = LoyaltyStack(
        app,
        settings.prefix,
        topology=topology,
        settings=settings,
        source=source,
        description=f"Loyalty engine ({settings.name})",
        env=env,
        termination_protection=settings.is_prod,
    )
    # Cost-allocation tags on every taggable resource (activate them once in the Billing console);
    # functions, their roles, logs and queues also carry `capability` (stacks/compute.py, messaging.py).
    cdk.Tags.of(stack).add("project", "loyalty")
    cdk.Tags.of(stack).add("environment", settings.name)
    add_console(app, stack, dist=console_dist)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
