"""The `campaigns` table's keys, and the grant transaction's items.

  CAMPAIGN#<id>             / META                     status, the definition in force, version, author
  CAMPAIGN#<id>             / V#<version>              every definition ever saved
  CAMPAIGN#<id>             / AUDIT#<at>#<n>           who, when, action, state before and after
  BUDGET#<id>               / TOTAL | D#.. | W#.. | M#..   spent against the limit of that period
  STATS#<id>                / ARM#<arm>                targeted, granted, notified, redeemed, cost, spend
  GRANT#<id>#<customer>     / <trigger key>            one grant (or a control "would have received")
  FREQ#<id>#<customer>      / LIFETIME | D#.. | ...    grants to the customer in the period
  NOTIFY#<customer>         / <business date>          notifications sent that day, all campaigns (TTL)
  TARGETED#<customer>       / <campaign id>            the arm a customer landed in, until the window ends
  CMD#<command id>          / CMD                      which grant a coupon command belongs to
  RUN#<id>                  / <run id>                 a fan-out: total, sent, processed, cursor
  PROGRESS#<customer>       / <campaign id>            a task's occurrences or a check-in streak (campaigns.progress)
  INVITE#<code>             / CODE                     the inviter an invite code belongs to (MGM)
  INVITER#<customer>        / CODE                     a customer's invite code
  REFERRAL#<id>             / <invitee>                a referral in a campaign: bound, refused or qualified
gsi1: CAMPAIGNS / <id> lists campaigns. gsi2: TRIGGER#<event type> | SCHEDULED | MANUAL | REFERRAL / <id>
finds the campaigns a trigger concerns.
"""

from __future__ import annotations

from typing import Any

from loyalty.core.dynamo import bounded_add, to_item, to_value

# A referral's inviter once the inviter was erased (loyalty.privacy): nothing is granted to them.
ERASED_INVITER = "erased"


def meta_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "META"}


def grant_key(campaign_id: str, customer_id: str, trigger: str) -> dict[str, str]:
    return {"pk": f"GRANT#{campaign_id}#{customer_id}", "sk": trigger}


def budget_key(campaign_id: str, period_key: str) -> dict[str, str]:
    return {"pk": f"BUDGET#{campaign_id}", "sk": period_key}


def stats_key(campaign_id: str, arm: str) -> dict[str, str]:
    return {"pk": f"STATS#{campaign_id}", "sk": f"ARM#{arm}"}


def freq_key(campaign_id: str, customer_id: str, period_key: str) -> dict[str, str]:
    return {"pk": f"FREQ#{campaign_id}#{customer_id}", "sk": period_key}


def notify_key(customer_id: str, day: str) -> dict[str, str]:
    return {"pk": f"NOTIFY#{customer_id}", "sk": day}


def targeted_key(customer_id: str, campaign_id: str) -> dict[str, str]:
    return {"pk": f"TARGETED#{customer_id}", "sk": campaign_id}


def command_key(command_id: str) -> dict[str, str]:
    return {"pk": f"CMD#{command_id}", "sk": "CMD"}


def run_key(campaign_id: str, run_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{campaign_id}", "sk": run_id}


def progress_key(customer_id: str, campaign_id: str) -> dict[str, str]:
    return {"pk": f"PROGRESS#{customer_id}", "sk": campaign_id}


def trigger_index(trigger: dict[str, Any]) -> str:
    if trigger["type"] == "event":
        return f"TRIGGER#{trigger['eventType']}"
    return {"schedule": "SCHEDULED", "referral": "REFERRAL"}.get(trigger["type"], "MANUAL")


def invite_key(code: str) -> dict[str, str]:
    return {"pk": f"INVITE#{code}", "sk": "CODE"}


def inviter_key(customer_id: str) -> dict[str, str]:
    return {"pk": f"INVITER#{customer_id}", "sk": "CODE"}


def referral_key(campaign_id: str, invitee_id: str) -> dict[str, str]:
    return {"pk": f"REFERRAL#{campaign_id}", "sk": invitee_id}


def not_erased(customers_table: str, customer_id: str) -> dict[str, Any]:
    """In a grant's transaction: the customer has not been erased (a missing profile passes: listed
    audiences need none). Atomic with the grant, so an erasure racing a run cannot be rewarded."""
    return {"ConditionCheck": {"TableName": customers_table, "Key": to_item({"customerId": customer_id}),
                               "ConditionExpression": "attribute_not_exists(erased)"}}


def counted_add(table: str, key: dict[str, str], attribute: str, add: int, limit: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """ADD `add` to a budget or cap counter that may not pass `limit` (see `bounded_add`)."""
    condition, names, values = bounded_add(attribute, add, limit)
    sets = ""
    if extra:
        sets = " SET " + ", ".join(f"#{k} = :{k}" for k in extra)
        values.update({f":{k}": to_value(v) for k, v in extra.items()})
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": f"ADD #n :add{sets}",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {**names, **{f"#{k}": k for k in extra or {}}},
            "ExpressionAttributeValues": values,
        }
    }


def plain_add(table: str, key: dict[str, str], counts: dict[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(counts)}
    values = {f":c{i}": to_value(n) for i, n in enumerate(counts.values())}
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": "ADD " + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def put_new(table: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}}


def still_active(table: str, campaign_id: str, version: int) -> dict[str, Any]:
    """The kill switch, in every grant: a paused or ended campaign refuses it at the write."""
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": to_item(meta_key(campaign_id)),
            "ConditionExpression": "#s = :approved AND version = :v",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":approved": to_value("approved"), ":v": to_value(version)},
        }
    }
