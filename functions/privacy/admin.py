"""PIPL rights for operators: export everything held on one customer, or erase them."""

from loyalty.core.api import Audit, Call, IdempotencyKey, Routes, serve
from loyalty.core.api_params import CustomerIdPath
from loyalty.core.clock import utc_now
from loyalty.org.scope import customers_own
from loyalty.privacy import service
from loyalty.privacy.views import CustomerExport, ErasureReceipt

routes = Routes("privacy")


# POST, not GET: an export is an action the audit log must show (who took whose data, when). It
# changes nothing, so it takes no Idempotency-Key; the log keeps neither body (personal data would
# outlive an erasure in the append-only log).
@routes.post(
    "/v1/admin/customers/{customerId}/export",
    scope=customers_own(),
    summary="Export a customer's data (PIPL)",
    operation_id="exportCustomerData",
    idempotency="none",
    audit=Audit(bodies=False),
    errors={404: ["CUSTOMER_NOT_FOUND"]},
)
def export(customerId: CustomerIdPath) -> CustomerExport:
    """Everything the engine holds on the customer: the profile, the points account with every ledger
    entry, redemption and risk hold, the wallet, what campaigns hold, the scoring state, the device and
    phone identities scoring recorded (keyed hashes), and the operator actions on their profile. 404
    when the engine holds nothing on them."""
    return CustomerExport.model_validate(service.export(service.default_holders(), customerId, utc_now()))


def _finish_erasure(call: Call) -> ErasureReceipt:
    """A retry of an erasure that died after its first write (the tombstone) finishes it: every step
    can run again. Its receipt counts what this run removed, under the first run's time."""
    return ErasureReceipt.model_validate(service.erase(service.default_holders(), call.path_param("customerId"), utc_now()))


@routes.post(
    "/v1/admin/customers/{customerId}/erase",
    scope=customers_own(),
    summary="Erase a customer (PIPL)",
    operation_id="eraseCustomer",
    audit=Audit(bodies=False),
    errors={404: ["CUSTOMER_NOT_FOUND"]},
    replay=_finish_erasure,
)
def erase(customerId: CustomerIdPath, key: IdempotencyKey) -> ErasureReceipt:
    """Anonymises without breaking the books: the profile becomes a tombstone no later profile event
    can overwrite, the scoring state and campaigns' records of their behaviour are deleted, and the
    points account is marked erased (nothing more is earned). The points ledger, coupons, campaign
    grants and the audit log stay, under the customer id. Running it again is safe."""
    return ErasureReceipt.model_validate(service.erase(service.default_holders(), customerId, utc_now()))


handler = serve(routes)
