"""cdk-nag AwsSolutions passes (every exception justified) and cfn-lint accepts the templates."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint_file

from tests.infra.infra_support import Synthesized

FIXTURES = ["synth", "small_synth", "idp_synth", "console_synth"]

# W3005 "dependency already enforced by Ref/GetAtt": CDK's Function always adds an explicit
# DependsOn on its role (which it also references). Redundant, harmless, not ours to remove.
CFN_LINT_IGNORED = ["W3005"]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_cdk_nag_reports_no_unsuppressed_error_or_warning(request: pytest.FixtureRequest, fixture: str) -> None:
    """Given AwsSolutionsChecks on the app / When synthesized / Then no AwsSolutions error or warning."""
    s: Synthesized = request.getfixturevalue(fixture)
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    errors = s.annotations.find_error("*", pattern)
    warnings = s.annotations.find_warning("*", pattern)
    assert [e.entry.data for e in errors] == []
    assert [w.entry.data for w in warnings] == []


@pytest.mark.parametrize("fixture", FIXTURES)
def test_nag_report_has_only_compliant_or_justified_rules(request: pytest.FixtureRequest, fixture: str) -> None:
    """Given the nag CSV report / Then nothing is non-compliant and every suppression has a reason."""
    s: Synthesized = request.getfixturevalue(fixture)
    rows = s.nag_rows()
    assert rows, "cdk-nag did not run"
    assert [r for r in rows if r["Compliance"] == "Non-Compliant"] == []
    suppressed = [r for r in rows if r["Compliance"] == "Suppressed"]
    assert all(len(r["Exception Reason"]) > 40 for r in suppressed)
    # Suppressions stay few and known; a new one must be added here (and to docs/infra.md) on purpose.
    assert {r["Rule ID"] for r in suppressed} <= {
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-COG8",
        "AwsSolutions-SQS3",  # a stream consumer's failure queue is itself the DLQ
        "AwsSolutions-COG4",  # with a bank identity provider only: a Lambda TOKEN authorizer instead
        # The operator console (stacks/console_nag.py): its log bucket and static-site bucket
        # (reads are the distribution's, logged there), geo restriction left to the bank, the
        # default *.cloudfront.net certificate without consoleDomain, and CDK's deployment handler.
        "AwsSolutions-S1",
        "AwsSolutions-CFR1",
        "AwsSolutions-CFR4",
        "AwsSolutions-L1",
        # The console's API key secret (staging, prod): CloudFormation resolves it into the API key
        # and CloudFront's origin header, which a rotation in Secrets Manager would not reach.
        "AwsSolutions-SMG4",
    }


@pytest.mark.parametrize("fixture", FIXTURES)
def test_cfn_lint_finds_no_errors_or_warnings(request: pytest.FixtureRequest, fixture: str) -> None:
    """Given the synthesized template / When cfn-lint runs / Then no error or warning (informational ok)."""
    s: Synthesized = request.getfixturevalue(fixture)
    matches = [
        match
        for template in s.template_files()
        for match in lint_file(template, config=ManualArgs(regions=["us-east-1", "ap-southeast-1"], ignore_checks=CFN_LINT_IGNORED))
    ]
    problems = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id[0] in "EW"]
    assert problems == []
