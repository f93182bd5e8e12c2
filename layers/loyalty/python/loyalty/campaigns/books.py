"""The campaigns table's books, as the daily reconciliation reads them (`ports.CampaignsBooks`): grants
in pages of a scan, each campaign's cost counters, and batched reads of the commands grants sent."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from loyalty.campaigns import records
from loyalty.campaigns.items import ArmStats, BudgetCounter, CampaignMeta, CampaignsTable, GrantItem
from loyalty.campaigns.ports import ActionBooks, BudgetBooks, CampaignBooks, GrantBooks
from loyalty.core.dynamo import from_item
from loyalty.core.tables import batch_get_raw, scan_page


class DynamoCampaignsBooks:
    def grants(self, cursor: str | None, limit: int) -> tuple[list[GrantBooks], str | None]:
        condition = CampaignsTable.pk.startswith("GRANT#") & (GrantItem.status != "control")
        raw, next_cursor = scan_page(CampaignsTable, condition, cursor, limit)
        return [_grant(from_item(item)) for item in raw], next_cursor

    def campaigns(self) -> Iterator[CampaignBooks]:
        for meta in CampaignMeta.listed.query("CAMPAIGNS", attributes_to_get=["campaignId"]):
            cid = meta.campaignId
            cost = sum(int(arm.cost or 0) for arm in ArmStats.query(f"STATS#{cid}", consistent_read=True))
            key = records.budget_key(cid, "TOTAL")
            try:
                total: int | None = int(BudgetCounter.get(key["pk"], key["sk"], consistent_read=True).spent or 0)
            except BudgetCounter.DoesNotExist:
                total = None
            yield CampaignBooks(cid, cost, total)

    def budgets(self) -> Iterator[BudgetBooks]:
        """From the campaign list (its index holds every attribute: the definition and the status),
        and the total budgets' counters read 100 at a time."""
        chunk: list[CampaignMeta] = []
        for meta in CampaignMeta.listed.query("CAMPAIGNS"):
            chunk.append(meta)
            if len(chunk) == 100:
                yield from _budgets(chunk)
                chunk = []
        yield from _budgets(chunk)

    def known_commands(self, command_ids: Sequence[str]) -> set[str]:
        found = batch_get_raw(CampaignsTable, [records.command_key(c) for c in command_ids])
        return {item["pk"]["S"].removeprefix("CMD#") for item in found}


def _grant(item: dict[str, Any]) -> GrantBooks:
    cost = int(item.get("cost", 0))
    actions = tuple(ActionBooks(str(a["commandId"]), str(a["kind"]), int(a.get("cost", 0)), str(a["state"]))
                    for a in item.get("actions") or [])
    return GrantBooks(item.get("grantId") or f"{item['pk']}/{item['sk']}", item["campaignId"], item["customerId"], item["status"],
                      item["at"], cost, cost - int(item.get("givenBack", 0)), actions)


def _budgets(metas: Sequence[CampaignMeta]) -> Iterator[BudgetBooks]:
    from loyalty.campaigns.service import definition_of

    keys = [records.budget_key(meta.campaignId, "TOTAL") for meta in metas]
    spent = {item["pk"]["S"]: int(item.get("spent", {}).get("N", 0)) for item in batch_get_raw(CampaignsTable, keys)} if keys else {}
    for meta, key in zip(metas, keys, strict=True):
        definition = definition_of({"definition": meta.definition})
        budget = definition.budget
        yield BudgetBooks(meta.campaignId, definition.orgUnitId, str(meta.status), budget.unit, budget.currency, budget.total,
                          spent.get(key["pk"], 0), definition.window.startsAt, definition.window.endsAt)
