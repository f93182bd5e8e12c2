"""The `mot` table's items (PynamoDB). Owned by mot (docs/mot.md).

  RULE#<rule> / RULE                  RuleItem: the newest version; gsi1 `RULES` (the list), gsi2
                                      `TRIGGER#<event type>` while active (the rules a moment wakes),
                                      gsi3 `GOAL#<event type>` with a goal (paused too: its tasks still convert)
  RULE#<rule> / V#<version>           RuleVersionItem: every version as written, and by whom
  STATS#<rule> / ALL|RM#<rm>|UNIT#<u>  StatsItem: the report's counters
  TASK#<task> / TASK                  TaskItem: gsi1 `ASSIGNEE#<rm or branch:unit>`, gsi2 `CUST#<customer>`,
                                      gsi3 `OPEN` by when the sweep looks at it (due, then expiry)
  OPEN#<rule>#<customer> / OPEN       OpenItem: the one open task of a customer and rule
  CUST#<customer> / HOLD#<rule>#<moment>  HoldoutItem: a moment whose task was held out (the uplift's control)
  CUST#<customer> / MANAGER           ManagerItem: the customer's relationship manager, as the newest profile says
  BOOK#<rm> / CUST#<customer>         BookItem: an RM's customers, and the last contact
  RUN#<schedule> / <business day>     RunItem: a daily schedule run's place in the profiles (resumed until done)
  COUNT#<name> / COUNT                CounterItem: tasks a customer got this week, an RM today, an RM's offers this month
  OUTBOX#<event id>                   MotOutbox: RmMessageRequested
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel

RULES, OPEN = "RULES", "OPEN"


class MotTable(ItemModel):
    table_setting = "mot_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ByFirst(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class BySecond(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class ByThird(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class RuleItem(MotTable):
    listed = ByFirst()
    triggered = BySecond()
    goals = ByThird()

    definition = UnicodeAttribute()  # MotRuleDefinition as JSON
    version = VersionAttribute()
    orgUnitId = UnicodeAttribute(null=True)
    createdAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)


class RuleVersionItem(MotTable):
    definition = UnicodeAttribute()
    at = UnicodeAttribute()
    by = UnicodeAttribute()


class StatsItem(MotTable):
    created = NumberAttribute(default=0)
    heldOut = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    doneWithinSla = NumberAttribute(default=0)
    contacted = NumberAttribute(default=0)
    conversions = NumberAttribute(default=0)
    holdoutConversions = NumberAttribute(default=0)
    offers = NumberAttribute(default=0)
    messages = NumberAttribute(default=0)
    escalated = NumberAttribute(default=0)
    expired = NumberAttribute(default=0)
    outcome_contacted = NumberAttribute(default=0)
    outcome_interested = NumberAttribute(default=0)
    outcome_converted = NumberAttribute(default=0)
    outcome_unreachable = NumberAttribute(default=0)
    outcome_declined = NumberAttribute(default=0)


class TaskItem(MotTable):
    by_assignee = ByFirst()
    by_customer = BySecond()
    sweepable = ByThird()

    record = UnicodeAttribute()  # TaskRecord as JSON
    state = UnicodeAttribute()
    assignee = UnicodeAttribute()
    customerId = UnicodeAttribute()
    version = VersionAttribute()
    offerCouponId = UnicodeAttribute(null=True)
    messageId = UnicodeAttribute(null=True)
    convertedAt = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)


class OpenItem(MotTable):
    taskId = UnicodeAttribute()


class HoldoutItem(MotTable):
    ruleId = UnicodeAttribute()
    at = UnicodeAttribute()
    orgUnitId = UnicodeAttribute(null=True)
    convertedAt = UnicodeAttribute(null=True)


class ManagerItem(MotTable):
    managerId = UnicodeAttribute(null=True)
    changedAt = UnicodeAttribute()


class BookItem(MotTable):
    customerId = UnicodeAttribute()
    since = UnicodeAttribute()
    lastContactAt = UnicodeAttribute(null=True)


class RunItem(MotTable):
    cursor = UnicodeAttribute(null=True)  # the profiles' next page; none with `done`
    done = NumberAttribute(default=0)
    customers = NumberAttribute(default=0)  # profiles looked at so far
    expiresAt = NumberAttribute()


class CounterItem(MotTable):
    n = NumberAttribute(default=0)
    expiresAt = NumberAttribute(null=True)


class MotOutbox(OutboxItem):
    table_setting = "mot_table"

    class Meta:
        table_name = None
