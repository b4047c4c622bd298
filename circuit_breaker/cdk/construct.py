"""The reusable ``CircuitBreaker`` construct: table, Express state machine, role and log group.

Callers start the state machine with a callee's name; it reads the callee's circuit from the
``CircuitStatus`` table and calls, short-circuits or probes the callee (``statemachine/``). The
construct bakes the callee registry into the definition at synth time, so the state machine's role
can be limited to invoking exactly the registered functions.
"""

from __future__ import annotations

import json
from importlib import resources as importlib_resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from aws_cdk import Acknowledgment, Annotations, Duration, Names, RemovalPolicy, Tags, Token, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from circuit_breaker.cdk.monitoring import MARKERS, MAX_MONITORED_CALLEES, CircuitBreakerMonitoring
from circuit_breaker.deployment import DISCOVERY_TAG
from circuit_breaker.settings import (
    CalleeSettings,
    InvalidSettingsError,
    OnStoreError,
    RetryPolicy,
    validate_callee_name,
    validate_function_arn,
    validate_max_depth,
)

#: The ASL file the state machine is built from: ``statemachine/`` in the repository, shipped in the wheel
#: as the package ``circuit_breaker.statemachine`` (pyproject.toml maps one onto the other).
DEFINITION_PATH = Path(str(importlib_resources.files("circuit_breaker.statemachine") / "circuit_breaker.asl.json"))


#: A static fallback answer may be at most this large (as JSON): it is baked into the definition.
MAX_STATIC_ANSWER_BYTES = 32_768

_NO_ANSWER = object()


@dataclass(frozen=True)
class Fallback:
    """Where an answer comes from when a callee's circuit is open or isolated, instead of an error (Polly's fallback).

    Either a Lambda ``function`` (granted to the workflow like the callees, nothing else), called with
    ``{"payload": <the original payload>, "breaker": {"error": ..., "cause": {...}}}``, or a static
    JSON ``answer``. With ``on_failure`` the fallback also answers when the callee failed after its
    retries (never for an error the callee declares an answer). A fallback's answer reaches the caller
    as ``{"circuitBreakerFallback": {"error", "cause", "source"}, "answer": ...}``.
    """

    function: lambda_.IFunction | None = None
    answer: Any = _NO_ANSWER
    on_failure: bool = False

    def __post_init__(self) -> None:
        if (self.function is None) == (self.answer is _NO_ANSWER):
            raise InvalidSettingsError("a Fallback takes either a function or a static answer, not both and not neither")
        if not isinstance(self.on_failure, bool):
            raise InvalidSettingsError(f"Fallback.on_failure must be true or false, got {self.on_failure!r}")
        if self.answer is not _NO_ANSWER:
            try:
                text = json.dumps(self.answer, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise InvalidSettingsError(f"a static fallback answer must be JSON: {error}") from None
            if len(text.encode()) > MAX_STATIC_ANSWER_BYTES:
                raise InvalidSettingsError(
                    f"a static fallback answer may be at most {MAX_STATIC_ANSWER_BYTES} bytes of JSON, got {len(text.encode())}: "
                    "answer from a fallback function instead"
                )

    def entry(self) -> dict[str, object]:
        """The fallback as the state machine reads it."""
        if self.function is not None:
            return {"functionArn": self.function.function_arn, "onFailure": self.on_failure}
        return {"answer": self.answer, "onFailure": self.on_failure}


@dataclass(frozen=True)
class Callee:
    """A Lambda function registered with the breaker, how the breaker treats it, and its optional fallback."""

    function: lambda_.IFunction
    settings: CalleeSettings = field(default_factory=CalleeSettings)
    fallback: Fallback | None = None


@dataclass(frozen=True)
class CircuitBreakerProps:
    """Properties of :class:`CircuitBreaker`; everything but ``callees`` has a secure default."""

    callees: Mapping[str, Callee]
    """The registry: callee name (what callers pass as ``callee``) to function and settings."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Backoff between attempts to call a callee; a callee's own ``CalleeSettings.retry`` overrides it."""
    on_store_error: OnStoreError = OnStoreError.CALL
    """Fail open (``CALL``) or closed (``FAIL``) when the table cannot be read; callees may override it."""
    max_depth: int = 16
    """Call-chain depth at which a call fails with ``RecursionLimitExceeded``."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    """How long execution logs (which include payloads) are kept."""
    log_execution_data: bool = True
    """Log each state's input, output and variables (payloads included) for inspection in the console and
    ``breaker history``. Payloads can be personal data: ``False`` keeps them out of the logs, and with them
    the per-callee metrics and alarms, which read the workflow's markers from the logged variables."""
    log_encryption_key: kms.IKey | None = None
    """A KMS key for the execution logs; by default CloudWatch Logs' own encryption at rest."""
    table_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """Whether ``cdk destroy`` keeps the circuit table (it does by default, as CDK tables do)."""
    state_machine_name: str | None = None
    """A fixed name for the state machine; generated by default."""
    event_bus: events.IEventBus | None = None
    """Where circuit transitions are published; the account's default event bus by default."""
    event_source: str = "circuit-breaker"
    """The ``source`` of the transition events."""
    monitoring: bool = True
    """Metric filters, per-callee alarms and a dashboard (at most 20 callees: 5 filters each)."""
    metrics_namespace: str = "CircuitBreaker"
    """Each callee's metrics are in ``<metrics_namespace>/<callee>``."""
    stays_open_minutes: int = 5
    """Minutes of short-circuited calls, every minute, after which a callee's "stays open" alarm fires."""


class CircuitBreaker(Construct):
    """A circuit breaker in front of Lambda callees, built on a Step Functions Express workflow.

    Every resource is reachable as a property: :attr:`table`, :attr:`state_machine`,
    :attr:`role`, :attr:`log_group`, :attr:`event_bus`, :attr:`dead_letter_queue` (failed asynchronous
    calls) and its :attr:`dead_letter_alarm`, :attr:`monitoring` (metrics, alarms, dashboard).
    Every change of a circuit's state made by the workflow is published to :attr:`event_bus` with
    source :attr:`event_source` and detail-type ``Circuit state changed``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: CircuitBreakerProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self._check_props(props)

        self.table = dynamodb.Table(
            self,
            "CircuitStatus",
            partition_key=dynamodb.Attribute(name="ServiceName", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="ExpiryTimeStamp",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=props.table_removal_policy,
        )

        self.event_source = props.event_source
        self.event_bus = props.event_bus or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.callee_names: tuple[str, ...] = tuple(sorted(props.callees))

        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            # The /aws/vendedlogs/ prefix keeps Step Functions' log delivery from growing the account's
            # CloudWatch Logs resource policy with one statement per log group.
            # Named after the construct's path (unique in the app), so two breakers never share a log group.
            log_group_name=f"/aws/vendedlogs/states/{Names.unique_resource_name(self, max_length=200, separator='-')}",
            retention=props.log_retention,
            encryption_key=props.log_encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Circuit breaker workflow: reads and writes its circuit table, invokes registered callees only",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[self.table.table_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=invoked_function_arns(props.callees),
            )
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.dead_letter_queue.grant_send_messages(self.role)
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter queue of the breaker's asynchronous calls; its messages are "
                    "re-submitted by `breaker redrive`, which deletes each only after its new execution started."
                ),
            )
        )
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterQueueNotEmpty",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Asynchronous calls failed and wait in the dead-letter queue: redrive them once the circuit closes.",
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=props.state_machine_name,
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_file(str(DEFINITION_PATH)),
            definition_substitutions={
                "TableName": self.table.table_name,
                "Registry": registry_substitution(props),
                "MaxDepth": str(props.max_depth),
                "EventBusName": self.event_bus.event_bus_name,
                "EventSource": props.event_source,
                "DeadLetterQueueUrl": self.dead_letter_queue.queue_url,
            },
            role=self.role,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=props.log_execution_data
            ),
        )
        # What finds a breaker in any stack (the CLI, the client): its state machine carries this tag.
        Tags.of(self.state_machine).add(DISCOVERY_TAG, self.node.path)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Only the statements CDK adds for logging and tracing use '*': Step Functions' log delivery actions "
                    "(logs:CreateLogDelivery and the like) and X-Ray's PutTraceSegments/GetSamplingRules do not support "
                    "resource-level permissions. Table, callee and event-bus access name their resources."
                ),
            )
        )

        self.monitoring: CircuitBreakerMonitoring | None = None
        if props.monitoring and not props.log_execution_data:
            Annotations.of(self).add_warning_v2(
                "circuit-breaker:monitoring-off",
                "log_execution_data=False: the per-callee metrics, alarms and dashboard are not created, because they "
                "read the workflow's markers from the logged variables. Use the state machine's own metrics instead.",
            )
        elif props.monitoring:
            self.monitoring = CircuitBreakerMonitoring(
                self,
                "Monitoring",
                log_group=self.log_group,
                state_machine=self.state_machine,
                metric_ids=metric_ids(props.callees),
                namespace=props.metrics_namespace,
                stays_open_minutes=props.stays_open_minutes,
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

    @staticmethod
    def _check_props(props: CircuitBreakerProps) -> None:
        if not props.callees:
            raise InvalidSettingsError("register at least one callee: CircuitBreakerProps.callees is empty")
        validate_max_depth(props.max_depth, "max_depth")
        if props.monitoring and len(props.callees) > MAX_MONITORED_CALLEES:
            raise InvalidSettingsError(
                f"monitoring covers at most {MAX_MONITORED_CALLEES} callees ({len(MARKERS)} metric filters each, 100 per log group); "
                f"{len(props.callees)} are registered: split them over several breakers, or set monitoring=False"
            )
        if not 1 <= props.stays_open_minutes <= 60:
            raise InvalidSettingsError(f"stays_open_minutes must be from 1 to 60, got {props.stays_open_minutes!r}")
        if not props.event_source or props.event_source.startswith("aws."):
            raise InvalidSettingsError(f"event_source must be a non-empty name outside 'aws.', got {props.event_source!r}")
        for name, callee in props.callees.items():
            validate_callee_name(name)
            functions = {"the function's ARN": callee.function}
            if callee.fallback and callee.fallback.function:
                functions["the fallback function's ARN"] = callee.fallback.function
            for what, function in functions.items():
                if not Token.is_unresolved(function.function_arn):
                    validate_function_arn(function.function_arn, f"callee {name!r}: {what}")


def invoked_function_arns(callees: Mapping[str, Callee]) -> list[str]:
    """Every function the workflow may invoke: the callees and their fallback functions, nothing else."""
    arns: list[str] = []
    for callee in callees.values():
        for function in (callee.function, callee.fallback.function if callee.fallback else None):
            if function is not None and function.function_arn not in arns:
                arns.append(function.function_arn)
    return arns


def metric_ids(callees: Mapping[str, Callee]) -> dict[str, int]:
    """A small number per callee (1, 2, ... in name order) that the workflow logs to mark its metrics."""
    return {name: index for index, name in enumerate(sorted(callees), start=1)}


def retry_entry(retry: RetryPolicy) -> dict[str, object]:
    """A retry policy as the state machine reads it."""
    return {
        "intervalSeconds": retry.interval_seconds,
        "backoffRate": retry.backoff_rate,
        "maxAttempts": retry.max_attempts,
        "maxDelaySeconds": retry.max_delay_seconds,
        "jitter": retry.jitter_strategy.value,
    }


def registry_entry(
    callee: Callee, default_on_store_error: OnStoreError, metric_id: int, default_retry: RetryPolicy | None = None
) -> dict[str, object]:
    """What the state machine knows of one callee (camelCase, as the ASL reads it)."""
    settings = callee.settings
    return {
        "functionArn": callee.function.function_arn,
        "metricId": metric_id,
        "failureThreshold": settings.failure_threshold,
        "failureWindowSeconds": settings.failure_window_seconds,
        "breakSeconds": settings.break_seconds,
        "maxBreakSeconds": settings.max_break_seconds,
        "timeoutSeconds": settings.timeout_seconds,
        "probeLeaseSeconds": settings.probe_lease_seconds,
        "onStoreError": (settings.on_store_error or default_on_store_error).value,
        "ignoredErrors": list(settings.ignored_errors),
        "retry": retry_entry(settings.retry or default_retry or RetryPolicy()),
        "deadlineSeconds": settings.deadline_seconds,
        "fallback": callee.fallback.entry() if callee.fallback else None,
    }


def registry_substitution(props: CircuitBreakerProps) -> str:
    """The registry as the body of a JSONata string literal, escaped to sit inside a JSON string of the ASL file.

    The ASL reads it with ``$parse('${Registry}')``. Three readers unescape it in turn: the definition's
    JSON, JSONata's string literal (JSON's escapes), and ``$parse``. So the registry's JSON (ASCII only:
    every other character as ``\\uXXXX``) has its backslashes doubled and its apostrophes written
    ``\\u0027`` for the literal, then is escaped for the definition's JSON. Any value survives that,
    a static fallback answer with quotes included. Function ARNs are CloudFormation tokens here; CDK
    resolves them inside the string.
    """
    ids = metric_ids(props.callees)
    registry = {
        name: registry_entry(callee, props.on_store_error, ids[name], props.retry)
        for name, callee in sorted(props.callees.items())
    }
    text = json.dumps(registry, separators=(",", ":"), ensure_ascii=True)
    literal = text.replace("\\", "\\\\").replace("'", "\\u0027")
    return json.dumps(literal)[1:-1]