"""Scheduled health checks: one EventBridge Scheduler schedule per checked callee, one health-check function.

Each schedule invokes the function every ``rate_minutes`` with its callee's
:class:`~circuit_breaker.core.health.HealthCheckTask` as input; the function probes the callee and
records the result on its circuit (``circuit_breaker/lambdas/health_check/``). Least privilege throughout: the
function reads and writes the circuit table, puts events on the breaker's bus and may invoke only
the callees whose check is a payload; the schedules' role may invoke only the function.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from circuit_breaker.cdk.assets import HEALTH_CHECK_HANDLER, health_check_code
from circuit_breaker.core.health import HealthCheckTask
from circuit_breaker.core.record import TABLE_ENV, item_name_patterns, leading_keys_condition
from circuit_breaker.core.settings import CalleeSettings

#: Powertools for AWS Lambda (Python), as pinned in requirements.txt; its public layer is looked up by version.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/x86_64/python3.14/{POWERTOOLS_VERSION}"
#: Seconds the function may run beyond the longest probe: one read, a few conditional writes, an event.
FUNCTION_HEADROOM_SECONDS = 15

EVENT_BUS_ENV = "CIRCUIT_BREAKER_EVENT_BUS"
EVENT_SOURCE_ENV = "CIRCUIT_BREAKER_EVENT_SOURCE"


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """Powertools' public layer of the pinned version, in the stack's region (an SSM public parameter)."""
    return lambda_.LayerVersion.from_layer_version_arn(
        scope, construct_id, ssm.StringParameter.value_for_string_parameter(scope, POWERTOOLS_LAYER_PARAMETER)
    )


class CircuitHealthChecks(Construct):
    """The health-check function and the schedules of the callees in ``checks`` (each with its ``health_check``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        event_bus: events.IEventBus,
        event_source: str,
        checks: Mapping[str, tuple[CalleeSettings, lambda_.IFunction]],
        group_name: str,
        log_retention: logs.RetentionDays,
        layer: lambda_.ILayerVersion | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Circuit breaker health checks: read and write the circuit table, publish transitions, invoke payload-checked callees",
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[table.table_arn],
                # Only the circuits of the checked callees (their read shards too, which a transition copies to).
                conditions=leading_keys_condition(
                    [p for name, (settings, _) in checks.items() for p in item_name_patterns(name, settings.read_shards)]
                ),
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[event_bus.event_bus_arn]))
        invoked = sorted({function.function_arn for settings, function in checks.values() if settings.health_check.kind == "payload"})
        if invoked:
            self.role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=invoked))
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Only X-Ray tracing uses '*': xray:PutTraceSegments and PutTelemetryRecords do not support "
                    "resource-level permissions. Table, event bus and callee access name their resources."
                ),
            )
        )
        longest = max(settings.health_check.timeout_seconds for settings, _ in checks.values())
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.X86_64,
            handler=HEALTH_CHECK_HANDLER,
            code=lambda_.Code.from_asset(str(health_check_code())),
            layers=[layer or powertools_layer(self, "Powertools")],
            role=self.role,
            log_group=self.log_group,
            timeout=Duration.seconds(longest + FUNCTION_HEADROOM_SECONDS),
            memory_size=256,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                TABLE_ENV: table.table_name,
                EVENT_BUS_ENV: event_bus.event_bus_name,
                EVENT_SOURCE_ENV: event_source,
                "POWERTOOLS_SERVICE_NAME": "circuit-health-check",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            description="Circuit breaker: scheduled health checks of its callees",
        )

        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
            description="Circuit breaker health-check schedules: invoke the health-check function only",
        )
        self.scheduler_role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]))

        self.group = scheduler.CfnScheduleGroup(self, "Group", name=group_name)
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        for name, (settings, function) in sorted(checks.items()):
            check = settings.health_check
            task = HealthCheckTask(
                callee=name,
                check=check,
                break_seconds=settings.break_seconds,
                max_break_seconds=settings.max_break_seconds,
                function_arn=function.function_arn if check.kind == "payload" else None,
                read_shards=settings.read_shards,
            )
            schedule = scheduler.CfnSchedule(
                self,
                f"Schedule{_logical(name)}",
                name=name,
                group_name=group_name,
                description=f"Health check of {name} ({check.kind}) every {check.rate_minutes} min",
                schedule_expression=check.schedule_expression,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=self.function.function_arn,
                    role_arn=self.scheduler_role.role_arn,
                    input=Stack.of(self).to_json_string(task.event()),
                    # A missed check is not retried: the next one comes at the next rate anyway.
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0, maximum_event_age_in_seconds=60),
                ),
            )
            schedule.add_dependency(self.group)
            self.schedules[name] = schedule


def _logical(name: str) -> str:
    """A construct ID part from a callee name (letters and digits, made unique by a suffix of the name's hash)."""
    cleaned = "".join(c for c in name.title() if c.isalnum())
    return f"{cleaned}{hashlib.sha256(name.encode()).hexdigest()[:6]}"
