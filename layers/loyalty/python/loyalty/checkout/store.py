"""The stacking policy's versions in the `checkout` table (docs/checkout.md, "The policy's versions")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from loyalty.checkout.items import HEAD, POLICY, PolicyHeadItem, PolicyVersionItem, version_sk
from loyalty.checkout.policy import StackingPolicy
from loyalty.core.errors import Conflict
from loyalty.core.transactions import Refused, Transaction


@dataclass(frozen=True)
class PolicyVersion:
    version: int  # 0: the built-in default, never written
    policy: StackingPolicy
    status: str  # pending | approved | superseded
    author: str
    createdAt: str
    note: str | None = None
    approvedBy: str | None = None
    approvedAt: str | None = None


@dataclass(frozen=True)
class Head:
    latest: int
    current: int | None


class PolicyStore(Protocol):
    def head(self) -> Head: ...

    def version(self, version: int) -> PolicyVersion | None: ...

    def propose(self, proposed: PolicyVersion, head: Head) -> None:
        """`proposed` (the version after `head.latest`, pending), on condition the head has not moved:
        409 `POLICY_VERSION_CONFLICT` otherwise."""

    def approve(self, approved: PolicyVersion, head: Head) -> None:
        """The pending version in force, the one before superseded, on condition neither the head nor
        the version moved: 409 `POLICY_VERSION_CONFLICT` otherwise."""


def _of(item: PolicyVersionItem) -> PolicyVersion:
    return PolicyVersion(int(item.version), StackingPolicy.model_validate_json(item.policy), item.status, item.author, item.createdAt,
                         item.note, item.approvedBy, item.approvedAt)


def _moved() -> Conflict:
    return Conflict("the stacking policy changed meanwhile: read it and decide again", code="POLICY_VERSION_CONFLICT")


class DynamoPolicyStore:
    def head(self) -> Head:
        try:
            item = PolicyHeadItem.get(POLICY, HEAD, consistent_read=True)
        except PolicyHeadItem.DoesNotExist:
            return Head(0, None)
        return Head(int(item.latest), None if item.current is None else int(item.current))

    def version(self, version: int) -> PolicyVersion | None:
        try:
            return _of(PolicyVersionItem.get(POLICY, version_sk(version), consistent_read=True))
        except PolicyVersionItem.DoesNotExist:
            return None

    def propose(self, proposed: PolicyVersion, head: Head) -> None:
        transaction = Transaction()
        transaction.put("version", PolicyVersionItem(POLICY, version_sk(proposed.version), version=proposed.version,
                                                     policy=proposed.policy.model_dump_json(), status="pending", author=proposed.author,
                                                     createdAt=proposed.createdAt, note=proposed.note),
                        PolicyVersionItem.pk.does_not_exist())
        moved = PolicyHeadItem.pk.does_not_exist() if head.latest == 0 else PolicyHeadItem.latest == head.latest
        transaction.update("head", PolicyHeadItem(POLICY, HEAD), [PolicyHeadItem.latest.set(proposed.version)], moved)
        self._commit(transaction)

    def approve(self, approved: PolicyVersion, head: Head) -> None:
        transaction = Transaction()
        transaction.update("version", PolicyVersionItem(POLICY, version_sk(approved.version)),
                           [PolicyVersionItem.status.set("approved"), PolicyVersionItem.approvedBy.set(str(approved.approvedBy)),
                            PolicyVersionItem.approvedAt.set(str(approved.approvedAt))],
                           PolicyVersionItem.status == "pending")
        if head.current is not None:
            transaction.update("before", PolicyVersionItem(POLICY, version_sk(head.current)), [PolicyVersionItem.status.set("superseded")],
                               PolicyVersionItem.status == "approved")
        in_force = PolicyHeadItem.current.does_not_exist() if head.current is None else PolicyHeadItem.current == head.current
        transaction.update("head", PolicyHeadItem(POLICY, HEAD), [PolicyHeadItem.current.set(approved.version)],
                           (PolicyHeadItem.latest == head.latest) & in_force)
        self._commit(transaction)

    @staticmethod
    def _commit(transaction: Transaction) -> None:
        try:
            transaction.commit()
        except Refused:
            raise _moved() from None


def default_store() -> PolicyStore:
    return DynamoPolicyStore()
