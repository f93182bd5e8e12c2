"""What the campaigns store answers when a write it was asked for did not happen."""

from __future__ import annotations


class AlreadyGranted(Exception):
    """The grant record exists: the same trigger was granted (or recorded for control) before."""


class Contended(Exception):
    """Another transaction held an item (TransactionConflict): try again."""


class Refused(Exception):
    """A write the table refused: `reason` is not_active, budget:<period>, frequency, notify or erased."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
