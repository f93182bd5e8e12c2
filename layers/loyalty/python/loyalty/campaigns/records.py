"""The `campaigns` table's keys (its item models are in `items`, `items_runs` and `items_customer`).

  CAMPAIGN#<id>             / META                     status, the definition in force, version, author
  CAMPAIGN#<id>             / V#<version>              every definition ever saved
  CAMPAIGN#<id>             / AUDIT#<at>#<n>           who, when, action, state before and after
  BUDGET#<id>               / TOTAL | D#.. | W#.. | M#..   spent against the limit of that period
  STATS#<id>                / ARM#<arm>                targeted, granted, notified, redeemed, undone by state, cost, spend
  GRANT#<id>#<customer>     / <trigger key>            one grant, a saga: status and each action's state (or a control record)
  FREQ#<id>#<customer>      / LIFETIME | D#.. | ...    grants to the customer in the period
  NOTIFY#<customer>         / <business date>          notifications sent that day, all campaigns
  TARGETED#<customer>       / <campaign id>            the arm a customer landed in, until the window ends
  CMD#<command id>          / CMD                      which grant a command (IssueCoupon, AwardPoints) belongs to
  RUN#<id>                  / <run id>                 a fan-out: total, sent, processed, cursor
  RUNITEM#<run id>          / <item id>                a work item counted toward its run (TTL)
  SPEND#<id>                / <transaction id>         a card transaction counted toward the uplift (TTL)
  AUDIENCE#<id>             / <customer>               a place in the campaign's uploaded audience
  UPLOAD#<id>               / <upload id>              what an upload's batches add up to
  PROGRESS#<customer>       / <campaign id>            a task's occurrences or a check-in streak (campaigns.progress)
  INVITE#<code>             / CODE                     the inviter an invite code belongs to (MGM)
  INVITER#<customer>        / CODE                     a customer's invite code
  REFERRAL#<id>             / <invitee>                a referral in a campaign: bound, refused or qualified
  PARKED#<customer>         / <occurrence>             a trigger that came before the customer's profile (TTL; campaigns.parking)
  OUTBOX#<event id>         / OUTBOX                   an event waiting to be published (loyalty.core.outbox)
gsi1: CAMPAIGNS / <id> lists campaigns; INVITER#<customer> / <id>#<invitee> an inviter's referrals;
PARKED#<bucket 0-15> / <parkedAt>#<customer>#<occurrence> the parked triggers, for the hourly sweep.
gsi2: TRIGGER#<event type> | SCHEDULED | MANUAL | REFERRAL / <id> finds the campaigns a trigger concerns;
PENDINGRUNS / <not before>#<id>#<run id> the runs a bank scheduler asked for later.
"""

from __future__ import annotations

from typing import Any

# A referral's inviter once the inviter was erased (loyalty.privacy): nothing is granted to them.
ERASED_INVITER = "erased"


def split(key: dict[str, str]) -> tuple[str, str]:
    """(pk, sk): how an item model takes its key."""
    return key["pk"], key["sk"]


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


def audience_key(campaign_id: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"AUDIENCE#{campaign_id}", "sk": customer_id}


def upload_key(campaign_id: str, upload_id: str) -> dict[str, str]:
    return {"pk": f"UPLOAD#{campaign_id}", "sk": upload_id}


def parked_key(customer_id: str, occurrence: str) -> dict[str, str]:
    return {"pk": f"PARKED#{customer_id}", "sk": occurrence}


def parked_partition(bucket: int) -> str:
    return f"PARKED#{bucket}"
