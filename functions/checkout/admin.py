"""Operator API for checkout: the stacking policy (叠加规则: read it, propose a version, approve it, maker-checker),
and a customer's checkout sessions (the console's inspector)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from loyalty.checkout import service
from loyalty.checkout.session_store import default_store as default_sessions
from loyalty.checkout.session_views import SessionList, SessionView
from loyalty.checkout.store import default_store
from loyalty.checkout.views import PolicyProposal, PolicyVersionView, StackingPolicyView
from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import id_path, limit_query
from loyalty.core.clock import utc_now
from loyalty.org.scope import BankWide, HeadOffice, customers_own

ROOT = "/v1/admin/stacking-policy"
routes = Routes("checkout", "Several coupons and points on one order: the stacking policy, quotes.")
# The policy is the bank's: read by every operator, changed and approved at the head office.
ANY_OPERATOR, HEAD_OFFICE = BankWide(), HeadOffice()
VersionPath = Annotated[int, Path(ge=1, le=1_000_000, description="A version of the policy (1 for the first written).")]


def _policy_now(call: Call) -> StackingPolicyView:
    return _policy()


def _policy() -> StackingPolicyView:
    store = default_store()
    pending = service.pending(store)
    return StackingPolicyView(inForce=PolicyVersionView.of(service.in_force(store)),
                              pending=PolicyVersionView.of(pending) if pending else None)


def _version_as_stored(call: Call) -> PolicyVersionView:
    """A retry's answer when the first try committed and died before answering: the version the path
    names, or the latest one written (the proposal)."""
    store = default_store()
    number = int(call.path_params.get("version") or store.head().latest)
    return PolicyVersionView.of(service.version(store, number))


@routes.get(ROOT, scope=ANY_OPERATOR, summary="The stacking policy in force, and the version pending approval",
            operation_id="getStackingPolicy")
def get_stacking_policy() -> StackingPolicyView:
    """The version quotes use (version 0, the built-in default, until one is approved), and the
    latest version if it waits for its approval."""
    return _policy()


@routes.put(ROOT, scope=HEAD_OFFICE, summary="Propose a version of the stacking policy", operation_id="putStackingPolicy",
            errors={409: ["POLICY_VERSION_CONFLICT"]}, audit=Audit(before=_policy_now), replay=_version_as_stored,
            links={"approveStackingPolicy": {"version": "$response.body#/version"}})
def put_stacking_policy(body: PolicyProposal, key: IdempotencyKey, caller: CallerDep) -> PolicyVersionView:
    """The whole policy as the next version, pending: in force once an approver other than its author
    approves it. A policy that breaks its own rules (a group exclusive and combining at once, an
    unknown group, an order of kinds that misses one) is 400 and changes nothing."""
    return PolicyVersionView.of(service.propose(default_store(), body.policy, caller.subject, body.note, utc_now()))


@routes.post(f"{ROOT}/versions/{{version}}/approve", scope=HEAD_OFFICE, summary="Approve a version of the stacking policy (checker)",
             operation_id="approveStackingPolicy", approvers=True, audit=Audit(before=_policy_now), replay=_version_as_stored,
             errors={403: ["APPROVER_REQUIRED", "APPROVER_IS_AUTHOR"], 404: ["POLICY_VERSION_NOT_FOUND"],
                     409: ["POLICY_NOT_PENDING", "POLICY_VERSION_CONFLICT"]})
def approve_stacking_policy(version: VersionPath, key: IdempotencyKey, caller: CallerDep) -> PolicyVersionView:
    """The latest pending version in force at once (every function within 30 s). Needs the
    `approvers` group, and another operator than its author."""
    return PolicyVersionView.of(service.approve(default_store(), version, caller, utc_now()))


@routes.get(f"{ROOT}/versions/{{version}}", scope=ANY_OPERATOR, summary="A version of the stacking policy",
            operation_id="getStackingPolicyVersion", errors={404: ["POLICY_VERSION_NOT_FOUND"]})
def get_stacking_policy_version(version: VersionPath) -> PolicyVersionView:
    """Every version written stays readable, with who wrote and who approved it."""
    return PolicyVersionView.of(service.version(default_store(), version))


@routes.get("/v1/admin/customers/{customerId}/checkout-sessions", scope=customers_own(),
            summary="A customer's checkout sessions (the checkout inspector)", operation_id="listCustomerCheckoutSessions",
            errors={404: ["CUSTOMER_NOT_FOUND"]})
def list_customer_checkout_sessions(customerId: Annotated[str, id_path("The customer's id.")],
                                    limit: Annotated[int, limit_query(20, 100)] = 20) -> SessionList:
    """The customer's latest sessions, newest first, each with its coupons, points, state, payment
    and refunds: what a branch's operator looks at when a customer asks about a checkout."""
    now = utc_now()
    return SessionList(items=[SessionView.of(s, s.state_at(now)) for s in default_sessions().of_customer(customerId, limit)])


handler = serve(routes)
