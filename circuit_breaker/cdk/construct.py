"""The reusable ``CircuitBreaker`` construct: table, Express state machine, role, log group, dead-letter queue.

Callers start the state machine with a callee's name; it reads the callee's circuit from the
``CircuitStatus`` table and calls, short-circuits or probes the callee (``statemachine/``). The
construct bakes the callee registry into the definition at synth time (:mod:`circuit_breaker.cdk.registry`),
so the state machine's role can be limited to invoking exactly the registered functions. Its properties are
:mod:`circuit_breaker.cdk.props`; the constructor is a list of ``_build_*`` steps, one per resource.
"""

from __future__ import annotations

from typing import Collection, Mapping

from aws_cdk import Acknowledgment, Annotations, Duration, Names, RemovalPolicy, Tags, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from circuit_breaker.cdk.assets import definition_path
from circuit_breaker.cdk.extension import extension_layer, grant_read_circuits
from circuit_breaker.cdk.health_checks import CircuitHealthChecks
from circuit_breaker.cdk.monitoring import CircuitBreakerMonitoring, breaker_metrics, optional_markers
from circuit_breaker.cdk.props import Callee, CircuitBreakerProps
from circuit_breaker.cdk.registry import extension_entries, invoked_function_arns, metric_ids, registry_substitution
from circuit_breaker.core.extension_api import DEFAULT_CACHE_SECONDS, DEFAULT_PORT
from circuit_breaker.core.registry import DISCOVERY_TAG
from circuit_breaker.core.settings import LogLevel


class CircuitBreaker(Construct):
    """A circuit breaker in front of Lambda callees, built on a Step Functions Express workflow.

    Every resource is reachable as a property: :attr:`table`, :attr:`state_machine`,
    :attr:`role`, :attr:`log_group`, :attr:`event_bus`, :attr:`dead_letter_queue` (failed asynchronous
    calls) and its :attr:`dead_letter_alarm`, :attr:`monitoring` (metrics, alarms, dashboard),
    :attr:`health_checks` (when a callee has a ``health_check``) and :attr:`extension_layer`.
    Every change of a circuit's state made by the workflow (or a health check) is published to
    :attr:`event_bus` with source :attr:`event_source` and detail-type ``Circuit state changed``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: CircuitBreakerProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.event_source = props.event_source
        self.event_bus = props.event_bus or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.callee_names: tuple[str, ...] = tuple(sorted(props.callees))
        self._extension_layer: lambda_.LayerVersion | None = None
        checked = {name: callee for name, callee in props.callees.items() if callee.settings.health_check is not None}
        # Named after the construct's path (unique in the app); the registry names it, so `breaker health-check run` finds it.
        self.health_check_group: str | None = (
            Names.unique_resource_name(self, max_length=64, separator="-") if checked else None
        )
        self.table = self._build_table()
        self.log_group = self._build_log_group()
        self.role = self._build_role()
        self.dead_letter_queue, self.dead_letter_alarm = self._build_dead_letter_queue()
        self.state_machine = self._build_state_machine()
        self.health_checks = self._build_health_checks(checked)
        self.monitoring = self._build_monitoring()

    def _build_table(self) -> dynamodb.Table:
        """The circuit table: on demand, point-in-time recovery, encrypted, TTL on ``ExpiryTimeStamp``."""
        return dynamodb.Table(
            self,
            "CircuitStatus",
            partition_key=dynamodb.Attribute(name="ServiceName", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="ExpiryTimeStamp",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=self.props.table_removal_policy,
        )

    def _build_log_group(self) -> logs.LogGroup:
        """The execution logs: what the console shows of Express executions."""
        return logs.LogGroup(
            self,
            "ExecutionLogs",
            # The /aws/vendedlogs/ prefix keeps Step Functions' log delivery from growing the account's
            # CloudWatch Logs resource policy with one statement per log group.
            # Named after the construct's path (unique in the app), so two breakers never share a log group.
            log_group_name=f"/aws/vendedlogs/states/{Names.unique_resource_name(self, max_length=200, separator='-')}",
            retention=self.props.log_retention,
            encryption_key=self.props.log_encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _build_role(self) -> iam.Role:
        """The workflow's role: its table, its event bus and the registered functions, nothing else."""
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Circuit breaker workflow: reads and writes its circuit table, invokes registered callees only",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"], resources=[self.table.table_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn]))
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=invoked_function_arns(self.props.callees))
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Only the statements CDK adds for logging and tracing use '*': Step Functions' log delivery actions "
                    "(logs:CreateLogDelivery and the like) and X-Ray's PutTraceSegments/GetSamplingRules do not support "
                    "resource-level permissions. Table, callee and event-bus access name their resources."
                ),
            )
        )
        return role

    def _build_dead_letter_queue(self) -> tuple[sqs.Queue, cloudwatch.Alarm]:
        """Where failed asynchronous calls wait for ``breaker redrive``, and the alarm that says one waits."""
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        queue.grant_send_messages(self.role)
        Validations.of(queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter queue of the breaker's asynchronous calls; its messages are "
                    "re-submitted by `breaker redrive`, which deletes each only after its new execution started."
                ),
            )
        )
        alarm = cloudwatch.Alarm(
            self,
            "DeadLetterQueueNotEmpty",
            metric=queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Asynchronous calls failed and wait in the dead-letter queue: redrive them once the circuit closes.",
        )
        return queue, alarm

    def _build_state_machine(self) -> sfn.StateMachine:
        """The Express workflow, from the ASL file with the registry and names substituted; tagged for discovery."""
        state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.props.state_machine_name,
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_file(str(definition_path())),
            definition_substitutions={
                "TableName": self.table.table_name,
                "Registry": registry_substitution(self.props, self.health_check_group),
                "MaxDepth": str(self.props.max_depth),
                "EventBusName": self.event_bus.event_bus_name,
                "EventSource": self.props.event_source,
                "DeadLetterQueueUrl": self.dead_letter_queue.queue_url,
            },
            role=self.role,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel[self.props.log_level.value],
                include_execution_data=self.props.log_execution_data,
            ),
        )
        # What finds a breaker in any stack (the CLI, the client): its state machine carries this tag.
        Tags.of(state_machine).add(DISCOVERY_TAG, self.node.path)
        return state_machine

    def _build_health_checks(self, checked: Mapping[str, Callee]) -> CircuitHealthChecks | None:
        """One schedule per callee with a ``health_check``, and the one function they run; none without."""
        if not checked:
            return None
        return CircuitHealthChecks(
            self,
            "HealthChecks",
            table=self.table,
            event_bus=self.event_bus,
            event_source=self.props.event_source,
            checks={name: (callee.settings, callee.function) for name, callee in checked.items()},
            group_name=self.health_check_group,  # type: ignore[arg-type]
            log_retention=self.props.log_retention,
            layer=self.props.powertools_layer,
        )

    def _build_monitoring(self) -> CircuitBreakerMonitoring | None:
        """Metrics, alarms and a dashboard from the execution logs, as far as the log level writes what they read."""
        if not self.props.monitoring:
            return None
        level = self.props.log_level
        if level is LogLevel.OFF:
            Annotations.of(self).add_warning_v2(
                "circuit-breaker:log-level",
                "log_level=OFF: no execution is logged, so no metric, alarm or dashboard is created from the logs and no "
                "call can be inspected. Use the state machine's own metrics (ExecutionsFailed and the like) instead.",
            )
            return None
        if level is not LogLevel.ALL:
            Annotations.of(self).add_warning_v2(
                "circuit-breaker:log-level",
                f"log_level={level.value}: the per-callee metrics and alarms are not created (they read the workflow's "
                "markers, which only ALL-level records hold). Breaker-wide metrics are created from the failure records "
                f"instead ({', '.join(m.name for m in breaker_metrics(level, self.props.log_execution_data))}); "
                "the stays-open alarm then watches failed calls only, and no alarm says that a circuit opened.",
            )
        elif not self.props.log_execution_data:
            Annotations.of(self).add_warning_v2(
                "circuit-breaker:monitoring-off",
                "log_execution_data=False: the per-callee metrics, alarms and dashboard are not created, because they "
                "read the workflow's markers from the logged variables. Breaker-wide metrics are created from the failure "
                "records instead (StoreErrors, FailedFast, CalleeFailedCalls), and the state machine's own metrics remain.",
            )
        return CircuitBreakerMonitoring(
            self,
            "Monitoring",
            log_group=self.log_group,
            state_machine=self.state_machine,
            metric_ids={name: number for name, number in metric_ids(self.props.callees).items() if name in self.props.monitored},
            namespace=self.props.metrics_namespace,
            extra_markers={name: optional_markers(callee.settings) for name, callee in self.props.callees.items()},
            stays_open_minutes=self.props.stays_open_minutes,
            log_level=level,
            log_execution_data=self.props.log_execution_data,
        )

    def grant_call(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call through the breaker: ``StartSyncExecution`` and ``StartExecution`` (asynchronous calls)."""
        self.state_machine.grant_start_execution(grantee)
        return self.state_machine.grant_start_sync_execution(grantee)

    def grant_redrive(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` run ``breaker redrive``: read the dead-letter queue, read circuits, re-submit calls."""
        self.dead_letter_queue.grant_consume_messages(grantee)
        self.dead_letter_queue.grant(grantee, "sqs:GetQueueAttributes")
        self.table.grant(grantee, "dynamodb:GetItem")
        self.grant_call(grantee)

    @property
    def extension_layer(self) -> lambda_.LayerVersion:
        """The circuit-breaker extension as a layer (made on first use): add it to a function with
        :meth:`grant_read_circuits`, and the function reads circuits on ``localhost:4270/circuits/{callee}`` (or the ``port`` granted)."""
        if self._extension_layer is None:
            self._extension_layer = extension_layer(self, "ExtensionLayer")
        return self._extension_layer

    def grant_read_circuits(
        self,
        function: lambda_.IFunction,
        callees: Collection[str] | None = None,
        *,
        port: int = DEFAULT_PORT,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
    ) -> iam.Grant:
        """Let ``function`` read the circuits of ``callees`` (default: all) through the extension, and configure it.

        Grants ``dynamodb:GetItem`` on those callees' items only, and sets the variables the extension
        and the Python client read (table, callees with their limits, ``port``, ``cache_seconds``).
        Add :attr:`extension_layer` to the function too.
        """
        return grant_read_circuits(self.table, extension_entries(self.props, callees), function, port=port, cache_seconds=cache_seconds)
