"""One Lambda function per `Topology.functions` entry, with exactly the access its entry declares."""

from __future__ import annotations

import json

from aws_cdk import Annotations, Aws, Duration, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.stacks.assets import SourceLayout, code_from
from infra.stacks.data import DataStore
from infra.stacks.encryption import EncryptedFailureQueue, grant_send
from infra.stacks.messaging import Messaging
from infra.stacks.settings import EnvironmentSettings
from infra.topology import EVENT_BUS_ENV, LAMBDA_PYTHON_VERSION, PROVIDER_CHANNELS, Function, Topology, queue_env, table_env

# One version for the runtime and the dependency layer's wheels (see LAMBDA_PYTHON_VERSION).
PYTHON_VERSION = LAMBDA_PYTHON_VERSION
PYTHON_RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + PYTHON_VERSION.replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "Loyalty"


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        settings: EnvironmentSettings,
        source: SourceLayout,
        data: DataStore,
        messaging: Messaging,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._data = data
        self._messaging = messaging
        self._topology = topology

        dependencies_present = source.ensure_dependency_layer()  # the asset must exist before binding
        self.dependency_layer = lambda_.LayerVersion(
            self,
            "DependencyLayer",
            code=code_from(source.dependency_layer_dir),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Third-party packages from layers/dependencies/requirements.txt",
        )
        if not dependencies_present:
            Annotations.of(self.dependency_layer).add_warning_v2(
                "loyalty:emptyDependencyLayer",
                "build/dependency-layer is empty: run `make deploy` (or its layer step) before deploying.",
            )
        self.domain_layer = lambda_.LayerVersion(
            self,
            "DomainLayer",
            code=code_from(source.domain_layer_dir),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="The loyalty domain library (layers/loyalty)",
        )

        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self.scheduler_roles: dict[str, iam.Role] = {}
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        for spec in topology.functions:
            self._add_function(spec, source)

    def _environment(self, spec: Function) -> dict[str, str]:
        env = {
            "BANK_TIME_ZONE": self._settings.bank_time_zone,
            "POWERTOOLS_SERVICE_NAME": spec.capability,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "LOG_LEVEL": self._settings.log_level,
        }
        for table_name in spec.tables:
            env[table_env(table_name)] = self._data.tables[table_name].table_name
        for queue_name in spec.sends_to:
            env[queue_env(queue_name)] = self._messaging.queues[queue_name].queue_url
        if spec.publishes_events:
            env[EVENT_BUS_ENV] = self._messaging.bus.event_bus_name
        if spec.pii_key:
            env["PII_HASH_KEY_PARAMETER"] = self.pii_key_parameter
        if spec.provider_secrets:
            env["PROVIDER_SECRETS_PREFIX"] = self.provider_secrets_prefix
        return env

    @property
    def pii_key_parameter(self) -> str:
        """A SecureString the bank creates before the first deploy (docs/security.md): CloudFormation
        cannot create SecureStrings, and the key must never appear in a template."""
        return f"/loyalty/{self._settings.name}/pii-hash-key"

    @property
    def provider_secrets_prefix(self) -> str:
        """The notification providers' secrets, `<prefix>wecom|sms|push` (JSON: the endpoint and its
        credentials), created by the bank before the first deploy (docs/notifications.md): credentials
        never appear in a template."""
        return f"loyalty/{self._settings.name}/providers/"

    def _add_function(self, spec: Function, source: SourceLayout) -> None:
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            retention=self._settings.log_retention,
            removal_policy=self._settings.removal_policy,
        )
        # Our own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {spec.name}",
        )
        log_group.grant_write(role)

        fn = lambda_.Function(
            self,
            spec.name,
            description=f"{spec.name} ({spec.import_path})",
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code_from(source.function_dir(spec.capability)),
            layers=[self.dependency_layer, self.domain_layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment=self._environment(spec),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )

        for table_name, access in spec.tables.items():
            table = self._data.tables[table_name]
            if access == "write":
                table.grant_read_write_data(fn)
            elif access in ("append", "read_append"):
                # Add entries, never update or delete them (the audit log); read them if asked.
                if access == "read_append":
                    table.grant_read_data(fn)
                table.grant(fn, "dynamodb:PutItem")
                if table.encryption_key is not None:
                    table.encryption_key.grant(fn, "kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt")
            else:
                table.grant_read_data(fn)
        if spec.publishes_events:
            self._messaging.bus.grant_put_events_to(fn)
        if spec.pii_key:
            # This one parameter; its aws/ssm key's policy lets SSM decrypt for callers in the account.
            parameter = f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter{self.pii_key_parameter}"
            role.add_to_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[parameter]))
        if spec.provider_secrets:
            # The three providers' secrets, each by name (Secrets Manager appends `-` and 6 characters in its ARN).
            secrets = [f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{self.provider_secrets_prefix}{name}-??????"
                       for name in PROVIDER_CHANNELS]
            role.add_to_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=secrets))
        for queue_name in spec.sends_to:
            grant_send(self._messaging.queues[queue_name], self._messaging.key, fn)
        if spec.queue is not None:
            # Poison goes to the DLQ at once (loyalty.core.poison): send on this queue's DLQ only.
            grant_send(self._messaging.dead_letter_queues[spec.queue], self._messaging.key, fn)
            # grantConsumeMessages: receive/delete on this queue, kms:Decrypt on the messaging key.
            queue_spec = self._topology.queue(spec.queue)
            fn.add_event_source(
                sources.SqsEventSource(
                    self._messaging.queues[spec.queue],
                    batch_size=queue_spec.batch_size,
                    max_batching_window=(
                        Duration.seconds(queue_spec.max_batching_window_s) if queue_spec.max_batching_window_s else None
                    ),
                    report_batch_item_failures=True,
                )
            )
        if spec.stream is not None:
            # The event source grants stream read on this table's stream only (and kms:Decrypt on
            # its key); the failure queue grants send on that queue only. No table data access.
            fn.add_event_source(
                sources.DynamoEventSource(
                    self._data.tables[spec.stream.table],
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=spec.stream.batch_size,
                    retry_attempts=spec.stream.max_retries,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    filters=[{"pattern": json.dumps(spec.stream.filter_pattern)}] if spec.stream.filter_pattern else None,
                    on_failure=EncryptedFailureQueue(
                        self._messaging.failure_queues[spec.stream.failure_queue], self._messaging.key
                    ),
                )
            )
        if spec.schedules:
            self._add_schedules(spec, fn)

        # Cost allocation per capability: the function, its role and its log group carry it.
        for resource in (fn, role, log_group):
            Tags.of(resource).add("capability", spec.capability)
        self.functions[spec.name] = fn
        self.roles[spec.name] = role
        self.log_groups[spec.name] = log_group

    def _add_schedules(self, spec: Function, fn: lambda_.Function) -> None:
        # EventBridge Scheduler assumes this role; it may invoke this one function and nothing else.
        role = iam.Role(
            self,
            f"{spec.name}-scheduler-role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"Lets EventBridge Scheduler invoke {spec.name}",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn]))
        Tags.of(role).add("capability", spec.capability)
        self.scheduler_roles[spec.name] = role
        for schedule in spec.schedules:
            cfn = scheduler.CfnSchedule(
                self,
                f"{spec.name}-schedule-{schedule.name}",
                description=f"{schedule.name} -> {spec.name}",
                schedule_expression=schedule.expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=fn.function_arn,
                    role_arn=role.role_arn,
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                    ),
                ),
            )
            # The role ARN already orders the role; the invoke permission lives in its separate policy.
            policy = role.node.try_find_child("DefaultPolicy")
            if policy is not None:
                cfn.node.add_dependency(policy)
            self.schedules[f"{spec.name}/{schedule.name}"] = cfn
