"""Alarms derived from the topology, to one KMS-encrypted SNS topic per environment.

Per function: errors and throttles, and the alarms it declares on business metrics it emits
(`Function.alarms`, e.g. scoring's stale parked events); the bank-IdP authorizer: throttles and JWKS
outages. Per queue: messages on its DLQ, age of its oldest message. Per stream consumer: messages on
its failure queue. Per rule: events EventBridge gave up delivering.
The bus's own DLQ, and API Gateway 5xx. What each alarm means and what to do: docs/operations.md.
"""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.stacks.api import Api
from infra.stacks.authorizer import BankTokenAuthorizer
from infra.stacks.business_metrics import NAMESPACE, SERVICE_DIMENSION
from infra.stacks.compute import Functions
from infra.stacks.encryption import CLOUDWATCH, customer_managed_key
from infra.stacks.messaging import Messaging
from infra.stacks.settings import EnvironmentSettings
from infra.topology import MetricAlarm, Queue, Topology

PERIOD = Duration.minutes(5)
RUNBOOK = "docs/operations.md"


def oldest_message_age_threshold_s(queue: Queue) -> int:
    """A message may legitimately wait out every retry (visibility timeout x receives before the
    DLQ). Twice that, and at least 5 minutes, means the consumer is stuck, failing or too slow."""
    return max(300, 2 * queue.visibility_timeout_s * queue.max_receive_count)


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        settings: EnvironmentSettings,
        functions: Functions,
        messaging: Messaging,
        api: Api,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.topic = self._topic(settings)
        self.alarms: dict[str, cw.Alarm] = {}  # by short name, e.g. "coupons-claim-errors"

        for fn_spec in topology.functions:
            fn = functions.functions[fn_spec.name]
            self._at_least_one(f"{fn_spec.name}-errors", fn.metric_errors(period=PERIOD), f"{fn_spec.name} failed (errors or timeouts)")
            self._at_least_one(f"{fn_spec.name}-throttles", fn.metric_throttles(period=PERIOD), f"{fn_spec.name} was throttled")
            for alarm in fn_spec.alarms:
                self._business(fn_spec.capability, alarm)
        if api.token_authorizer is not None:
            self._authorizer(api.token_authorizer)
        for queue_spec in topology.queues:
            name = queue_spec.name
            self._dlq(f"{queue_spec.dlq_name}-messages", messaging.dead_letter_queues[name], f"messages {name} gave up on")
            age = oldest_message_age_threshold_s(queue_spec)
            self._add(
                f"{name}-age",
                messaging.queues[name].metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                threshold=age,
                description=f"the oldest message on {name} is over {age} s old: its consumer is stuck or too slow",
            )
        for failure_name, failure_queue in messaging.failure_queues.items():
            self._dlq(f"{failure_name}-messages", failure_queue, f"stream records Lambda gave up on ({failure_name})")
        self._dlq("bus-dlq-messages", messaging.bus_dead_letter_queue, "events the bus could not encrypt or decrypt")
        for rule_name, rule in messaging.rules.items():
            failed = cw.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"EventBusName": topology.bus_name, "RuleName": rule.rule_name},
                period=PERIOD,
                statistic="Sum",
            )
            self._at_least_one(f"rule-{rule_name}-failed", failed, f"EventBridge gave up delivering {rule_name} events")
        if any(fn.capability == "campaigns" for fn in topology.functions):
            self._budget_burn(settings)
        self._at_least_one(
            "api-5xx",
            api.rest_api.deployment_stage.metric_server_error(period=PERIOD, statistic="Sum"),
            "the API answered 5xx",
        )

    def _authorizer(self, token: BankTokenAuthorizer) -> None:
        """The bank-IdP authorizer sits in front of every uncached request: when it cannot fetch the
        issuer's keys, or is throttled, every caller gets a 5xx whatever route they called. (Its
        Errors metric would also count every refused token, so the outage is read from its log.)"""
        self._at_least_one("authorizer-key-set-unavailable", token.key_set_unavailable,
                           "the bank-IdP token authorizer could not fetch the issuer's JWKS: callers got 5xx")
        self._at_least_one("authorizer-throttles", token.function.metric_throttles(period=PERIOD),
                           "the bank-IdP token authorizer was throttled: callers got 5xx")

    def _business(self, capability: str, alarm: MetricAlarm) -> None:
        """An alarm the topology declares on a business metric a function of `capability` emits."""
        self._add(
            alarm.name,
            cw.Metric(namespace=NAMESPACE, metric_name=alarm.metric, dimensions_map={SERVICE_DIMENSION: capability},
                      period=Duration.minutes(alarm.period_minutes), statistic=alarm.statistic),
            threshold=alarm.threshold,
            description=alarm.description,
        )

    def _budget_burn(self, settings: EnvironmentSettings) -> None:
        """Spending faster than the bank expects in any hour, across campaigns (each campaign's own
        80% warning is the BudgetBurnWarning event)."""
        self._add(
            "campaign-budget-burn",
            cw.Metric(namespace=NAMESPACE, metric_name="CampaignBudgetSpent", dimensions_map={SERVICE_DIMENSION: "campaigns"},
                      period=Duration.hours(1), statistic="Sum"),
            threshold=settings.budget_burn_alarm_per_hour,
            description=f"campaigns spent more than {settings.budget_burn_alarm_per_hour} budget units in an hour",
        )

    def _topic(self, settings: EnvironmentSettings) -> sns.Topic:
        # Its own key: CloudWatch must be allowed to use it, and that key protects nothing else.
        key = customer_managed_key(self, "AlarmsKey", settings=settings, purpose="alarms", protects="alarm topic")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheAlarmTopic",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{settings.prefix}-alarms",
            display_name=f"Loyalty {settings.name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # The topic policy, unlike the key policy, can name the publishers: our alarms only.
        stack = Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        # arn:<partition>:cloudwatch:<region>:<account>:alarm:loyalty-<env>-*
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{settings.prefix}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        elif settings.is_prod:
            Annotations.of(self).add_warning_v2(
                "loyalty:noAlarmSubscriber",
                "prod has no alarm subscriber: deploy with -c alarmEmail=<address>, or subscribe to the alarm topic.",
            )
        self.key = key
        return topic

    def _dlq(self, short_name: str, queue: sqs.IQueue, what: str) -> None:
        self._at_least_one(
            short_name,
            queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            f"{what}: inspect, fix, then `make redrive` ({RUNBOOK})",
        )

    def _at_least_one(self, short_name: str, metric: cw.IMetric, description: str) -> None:
        self._add(short_name, metric, threshold=1, description=description)

    def _add(self, short_name: str, metric: cw.IMetric, *, threshold: float, description: str) -> None:
        alarm = cw.Alarm(
            self,
            short_name,
            alarm_name=f"{self._settings.prefix}-{short_name}",
            alarm_description=f"{description}. Runbook: {RUNBOOK}",
            metric=metric,
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # No traffic is not a failure: an idle function or an empty queue publishes no data.
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms[short_name] = alarm
