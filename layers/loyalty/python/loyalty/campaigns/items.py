"""The `campaigns` table's items as PynamoDB models (keys in `records`): a campaign's definition,
versions and audit trail, and what a grant writes. Runs and uploaded audiences are in `items_runs`,
what the table holds of one customer's own doing (progress, invite codes, referrals) in
`items_customer`. Owned by the campaigns capability: other capabilities use `loyalty.campaigns.ports`.

Stored attribute names are camelCase, as the API's, and so are the Python names; the one exception is
the counters' `count`, which would hide PynamoDB's `Model.count()`: Python calls it by what it counts.
One key prefix holds several shapes only under `CAMPAIGN#<id>`, told apart by the sort key (`META`,
`V#<version>`, `AUDIT#<at>#<n>`), so no discriminator attribute is stored.

A campaign's `version` is a plain number, not PynamoDB's `VersionAttribute`: a grant checks it to
refuse a definition that changed since it was decided on, but lifecycle moves and the scheduler's slot
update the META item without changing it (a `VersionAttribute` would add 1 on each, refusing every
grant in flight). Task progress is written only by replacing the whole item, conditioned on the
version read: there `VersionAttribute` states exactly that (`items_customer.ProgressItem`).
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel, text_list


class CampaignsTable(ItemModel):
    """Base of every item of the campaigns table (`pk`/`sk` strings)."""

    table_setting = "campaigns_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CampaignOutbox(OutboxItem):
    """Events of the campaigns table's transactions (RewardGranted, IssueCoupon, AwardPoints, ...)."""

    table_setting = "campaigns_table"

    class Meta:
        table_name = None


# ---- a campaign: CAMPAIGN#<id> ---------------------------------------------------------------------------


class CampaignList(GlobalSecondaryIndex["CampaignMeta"]):
    """gsi1 `CAMPAIGNS` / <id>: every campaign."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class CampaignsByTrigger(GlobalSecondaryIndex["CampaignMeta"]):
    """gsi2 `TRIGGER#<event type>` | `SCHEDULED` | `MANUAL` | `REFERRAL` / <id>: the campaigns a trigger concerns."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class CampaignMeta(CampaignsTable):
    """`CAMPAIGN#<id>` / `META`: the definition in force, its status and who did what."""

    campaignId = UnicodeAttribute()
    status = UnicodeAttribute()  # draft, pending_approval, approved, paused, ended
    version = NumberAttribute()  # conditions grants and edits; see the module's note
    definition = UnicodeAttribute()  # the CampaignDefinition as JSON
    author = UnicodeAttribute(null=True)
    updatedBy = UnicodeAttribute(null=True)
    updatedAt = UnicodeAttribute(null=True)
    startsAt = UnicodeAttribute()
    endsAt = UnicodeAttribute()
    approvedBy = UnicodeAttribute(null=True)
    approvedAt = UnicodeAttribute(null=True)
    pausedReason = UnicodeAttribute(null=True)
    lastSlot = UnicodeAttribute(null=True)  # a scheduled campaign's latest slot fired
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    listed = CampaignList()
    by_trigger = CampaignsByTrigger()


class CampaignVersion(CampaignsTable):
    """`CAMPAIGN#<id>` / `V#<version, 6 digits>`: every definition ever saved."""

    definition = UnicodeAttribute()
    savedBy = UnicodeAttribute(null=True)
    savedAt = UnicodeAttribute(null=True)


class CampaignAuditEntry(CampaignsTable):
    """`CAMPAIGN#<id>` / `AUDIT#<at>#<n>`: who, when, the action, the state before and after."""

    who = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    action = UnicodeAttribute(null=True)
    before = UnicodeAttribute(null=True)
    after = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)


# ---- what a grant writes ------------------------------------------------------------------------------


class BudgetCounter(CampaignsTable):
    """`BUDGET#<id>` / `TOTAL` | `D#..` | `W#..` | `M#..` | `A#<attribute>=<value>`: spent against the period's limit."""

    spent = NumberAttribute(null=True)
    limit = NumberAttribute(null=True)
    exhaustedAt = UnicodeAttribute(null=True)  # BudgetExhausted announced (a period's or an attribute value's)
    warnedAt = UnicodeAttribute(null=True)  # BudgetBurnWarning announced (the total's)
    # The business date a BudgetPacingAlert was last announced in each direction (a paced total's).
    alertedAhead = UnicodeAttribute(null=True)
    alertedBehind = UnicodeAttribute(null=True)


class ArmStats(CampaignsTable):
    """`STATS#<id>` / `ARM#<arm>`: the report's counters of one arm."""

    targeted = NumberAttribute(null=True)
    granted = NumberAttribute(null=True)
    notified = NumberAttribute(null=True)
    notificationsDelivered = NumberAttribute(null=True)  # receipts of the notifications' delivery (loyalty.notifications)
    notificationsFailed = NumberAttribute(null=True)
    redeemed = NumberAttribute(null=True)
    cancelled = NumberAttribute(null=True)  # undone before anything was delivered
    compensating = NumberAttribute(null=True)  # undoing: compensations on their way
    compensated = NumberAttribute(null=True)  # undone: everything delivered was taken back
    partlyDelivered = NumberAttribute(null=True)  # undone, but a reward stayed with the customer (and in cost)
    cost = NumberAttribute(null=True)
    spendMinor = NumberAttribute(null=True)


class GrantItem(CampaignsTable):
    """`GRANT#<id>#<customer>` / <trigger key>: one grant, or a control's "would have received".

    A grant is a saga (`loyalty.campaigns.saga`): `status` and each action's state move only by a
    write conditioned on `version` (a plain number, moved by every step; a grant written before
    sagas has none). Control records have neither."""

    campaignId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    trigger = UnicodeAttribute()
    arm = UnicodeAttribute()
    at = UnicodeAttribute()
    # control; granted, delivered, compensating, compensated, partly_delivered, cancelled (saga.GrantStatus)
    status = UnicodeAttribute()
    grantId = UnicodeAttribute(null=True)  # its name in other capabilities' books (granting.grant_id)
    version = NumberAttribute(null=True)
    # Raw: each action's {commandId, kind (coupon, points), cost (its share), state, reason?} (saga.to_record)
    actions = ListAttribute(null=True)  # type: ignore[var-annotated]
    # Raw: the NotificationRequested details (and the quiet hours) held until every reward is delivered
    notification = MapAttribute(null=True)  # type: ignore[var-annotated]
    cost = NumberAttribute(null=True)
    budgetKeys = text_list(null=True)  # the budget periods its cost was taken from
    poolKey = UnicodeAttribute(null=True)  # the org pool its cost was drawn from too: <unit>/<period>/<measure>
    deliveredAt = UnicodeAttribute(null=True)
    cancelledAt = UnicodeAttribute(null=True)  # when it settled (cancelled, compensated or partly delivered)
    cancelReason = UnicodeAttribute(null=True)  # the refusal that undid it
    givenBack = NumberAttribute(null=True)  # cost returned to the budget when it settled
    keptCost = NumberAttribute(null=True)  # cost of rewards the customer kept (not compensable)


class FrequencyCounter(CampaignsTable):
    """`FREQ#<id>#<customer>` / `LIFETIME` | `D#..` | ...: grants to the customer in the period."""

    grants = NumberAttribute(null=True, attr_name="count")


class NotificationCounter(CampaignsTable):
    """`NOTIFY#<customer>` / <business date>: notifications sent that day, all campaigns."""

    notifications = NumberAttribute(null=True, attr_name="count")


class TargetedItem(CampaignsTable):
    """`TARGETED#<customer>` / <campaign id>: the arm a customer landed in, for counting their spend."""

    arm = UnicodeAttribute()
    endsAt = UnicodeAttribute()
    currency = UnicodeAttribute(null=True)


class CommandItem(CampaignsTable):
    """`CMD#<command id>` / `CMD`: which grant a command (`IssueCoupon`, `AwardPoints`) belongs to."""

    grantPk = UnicodeAttribute()
    grantSk = UnicodeAttribute()
    campaignId = UnicodeAttribute()
    arm = UnicodeAttribute()
    redeemedAt = UnicodeAttribute(null=True)
