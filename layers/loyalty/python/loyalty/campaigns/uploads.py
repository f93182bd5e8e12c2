"""Audiences uploaded as lists of customer ids (CSV), imported in batches with progress.

Each call imports one batch (one CSV body, up to ~4,000 ids of 10 characters): ids the engine
knows (a profile, by the customers capability's port) join the campaign's uploaded audience (`AUDIENCE#<campaign>` /
`<customer id>`); unknown and malformed ids are listed in the answer and counted on the upload,
and the rest still import. A campaign whose audience says `uploaded` grants only to that list, in
runs and on events.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from loyalty.campaigns.model import CampaignId, Strict
from loyalty.campaigns.store import CampaignStore
from loyalty.core.auth import APPROVERS, Caller
from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation, Forbidden, InvalidInput, NotFound

CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_IDS_PER_BATCH = 5_000
# In JSON a line break is two bytes (\n) and CRLF four: a CSV at this limit, of ids of 6 characters or
# more, is at most 60 KB as a body, so a longer one is refused by validation (400), not as too large (413).
MAX_CSV_CHARS = 48_000


class AudienceUpload(Strict):
    """One batch of an upload: send a long list as several batches under the same `uploadId`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"uploadId": "private-banking-vip-2027q1", "csv": "customerId\nc-10001\nc-10002\nc-10003\n"}]})

    uploadId: CampaignId = Field(description="Names the upload; its batches add up under it.")
    csv: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CSV_CHARS)] = Field(
        description=f"Customer ids in the first column, one a line; a `customerId` header and blank lines are skipped. "
        f"At most {MAX_CSV_CHARS} characters and {MAX_IDS_PER_BATCH} ids a batch.")


def parse_ids(text: str) -> tuple[list[str], list[str]]:
    """(well-formed ids in order, without duplicates; malformed entries). The first column counts;
    a `customerId` header line and blank lines are skipped."""
    ids, invalid, seen = [], [], set()
    for row in csv.reader(io.StringIO(text)):
        value = row[0].strip() if row else ""
        if not value or value.lower() == "customerid":
            continue
        if not CUSTOMER_ID.match(value):
            invalid.append(value[:80])
        elif value not in seen:
            seen.add(value)
            ids.append(value)
    if len(ids) > MAX_IDS_PER_BATCH:
        raise InvalidInput(f"a batch holds at most {MAX_IDS_PER_BATCH} ids: split the file", code="BATCH_TOO_LARGE")
    return ids, invalid


def profiles_of(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The profiles of these customers that exist (the customers capability's port: 100 a BatchGetItem)."""
    from loyalty.customers.ports import directory

    return {i: p.model_dump() for i, p in directory().profiles(ids).items()}


def known_customers(ids: list[str], unit_id: str | None = None) -> set[str]:
    """The ids with a profile that was not erased (an erased customer joins no audience again); for a
    unit's campaign, of the unit's subtree only (another branch's customer is unknown to it)."""
    from loyalty.campaigns.granting import within_unit
    from loyalty.customers.ports import directory

    return {i for i, p in directory().profiles(ids).items()
            if not p.erased and (unit_id is None or within_unit(unit_id, p.model_dump()))}


def upload(store: CampaignStore, campaign_id: str, batch: AudienceUpload, caller: Caller, now: datetime) -> dict[str, Any]:
    """One batch into the campaign's list. Once the campaign is approved the list is part of what
    was approved: adding to it needs the approvers group (maker-checker covers the content too)."""
    meta = store.get(campaign_id)
    if meta["status"] == "ended":
        raise BusinessRuleViolation(f"campaign {campaign_id} has ended", code="INVALID_TRANSITION")
    if meta["status"] not in ("draft", "pending_approval"):
        if APPROVERS not in caller.groups:
            raise Forbidden("adding to an approved campaign's audience needs the approvers group", code="APPROVER_REQUIRED")
        if caller.subject == meta.get("author"):
            raise Forbidden("the campaign's author may not add to its approved audience", code="APPROVER_IS_AUTHOR")
    operator = caller.subject
    ids, invalid = parse_ids(batch.csv)
    from loyalty.campaigns.service import definition_of

    known = known_customers(ids, definition_of(meta).orgUnitId)
    imported = [i for i in ids if i in known]
    unknown = [i for i in ids if i not in known]
    store.add_members(campaign_id, batch.uploadId, imported)
    store.count_upload(campaign_id, batch.uploadId, imported=len(imported), unknown=len(unknown), invalid=len(invalid), at=iso_utc(now),
                       by=operator)
    return {"uploadId": batch.uploadId, "batch": {"received": len(ids) + len(invalid), "imported": len(imported), "unknown": unknown,
                                                  "invalid": invalid}, "progress": progress(store, campaign_id, batch.uploadId)}


def progress(store: CampaignStore, campaign_id: str, upload_id: str) -> dict[str, Any]:
    record = store.upload(campaign_id, upload_id)
    if record is None:
        raise NotFound(f"upload {upload_id} of campaign {campaign_id} does not exist", code="UPLOAD_NOT_FOUND")
    return {k: record.get(k, 0) for k in ("batches", "imported", "unknown", "invalid")} | {"lastBatchAt": record.get("lastBatchAt")}
