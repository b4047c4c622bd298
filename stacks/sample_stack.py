"""The sample deployment: a :class:`CircuitBreaker` in front of the sample callees ``echo`` and ``flaky``
(``lambdas/``), plus any existing functions registered in the ``circuit_breaker`` context block."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, CfnOutput, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from circuit_breaker.core.registry import (
    OUTPUT_CALLEES,
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_EVENT_BUS_NAME,
    OUTPUT_EVENT_SOURCE,
    OUTPUT_LOG_GROUP_NAME,
    OUTPUT_STATE_MACHINE_ARN,
    OUTPUT_TABLE_NAME,
)
from circuit_breaker.cdk import Callee, CircuitBreaker, CircuitBreakerProps, Fallback
from circuit_breaker.cdk.health_checks import powertools_layer
from stacks.context import CONTEXT_KEY, LOG_RETENTION_DAYS, BreakerConfig, FunctionRef, configured_block, parse_breaker_context

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"

#: The sample callees, one folder each under ``lambdas/``.
SAMPLE_FUNCTIONS = ("echo", "flaky")

#: Stack output naming the extension layer, for the functions of other stacks that check circuits.
OUTPUT_EXTENSION_LAYER_ARN = "ExtensionLayerArn"


#: CDK's RetentionDays lists CloudWatch Logs' finite periods in the same ascending order as LOG_RETENTION_DAYS.
_RETENTION_BY_DAYS = dict(zip(LOG_RETENTION_DAYS, [r for r in logs.RetentionDays if r is not logs.RetentionDays.INFINITE]))


class CircuitBreakerSampleStack(Stack):
    """A circuit breaker with its sample callees; configured through the ``circuit_breaker`` context."""

    #: The context block this stack reads its configuration from.
    context_key = CONTEXT_KEY

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config: BreakerConfig = parse_breaker_context(configured_block(self, self.context_key), SAMPLE_FUNCTIONS)

        self.powertools = powertools_layer(self, "Powertools")
        self.retention = _RETENTION_BY_DAYS[self.config.log_retention_days]
        self.functions: dict[str, lambda_.IFunction] = {
            name: self._sample_function(name, self.powertools, self.retention) for name in SAMPLE_FUNCTIONS
        }

        callees: dict[str, Callee] = {}
        for entry in self.config.callees:
            function = self._function(FunctionRef(entry.function_arn, entry.sample_function), f"Existing-{entry.name}")
            fallback = None
            if entry.fallback is not None:
                if entry.fallback.function is not None:
                    fallback = Fallback(
                        function=self._function(entry.fallback.function, f"Fallback-{entry.name}"),
                        on_failure=entry.fallback.on_failure,
                    )
                else:
                    fallback = Fallback(answer=entry.fallback.answer, on_failure=entry.fallback.on_failure)
            callees[entry.name] = Callee(function=function, settings=entry.settings, fallback=fallback)

        self.breaker = CircuitBreaker(
            self,
            "CircuitBreaker",
            CircuitBreakerProps(
                callees=callees,
                retry=self.config.retry,
                on_store_error=self.config.on_store_error,
                max_depth=self.config.max_depth,
                log_retention=self.retention,
                log_execution_data=self.config.log_execution_data,
                log_level=self.config.log_level,
                monitored_callees=self.config.monitored_callees,
                table_removal_policy=RemovalPolicy.DESTROY,
                powertools_layer=self.powertools,
            ),
        )

        CfnOutput(self, OUTPUT_STATE_MACHINE_ARN, value=self.breaker.state_machine.state_machine_arn)
        CfnOutput(self, OUTPUT_TABLE_NAME, value=self.breaker.table.table_name)
        CfnOutput(self, OUTPUT_LOG_GROUP_NAME, value=self.breaker.log_group.log_group_name)
        CfnOutput(self, OUTPUT_CALLEES, value=",".join(self.breaker.callee_names))
        CfnOutput(self, OUTPUT_EVENT_BUS_NAME, value=self.breaker.event_bus.event_bus_name)
        CfnOutput(self, OUTPUT_EVENT_SOURCE, value=self.breaker.event_source)
        CfnOutput(self, OUTPUT_DEAD_LETTER_QUEUE_URL, value=self.breaker.dead_letter_queue.queue_url)
        CfnOutput(self, OUTPUT_EXTENSION_LAYER_ARN, value=self.breaker.extension_layer.layer_version_arn)

    def _function(self, ref: FunctionRef, construct_id: str) -> lambda_.IFunction:
        """A sample function of this app, or an existing function imported by ARN."""
        if ref.function_arn:
            return lambda_.Function.from_function_arn(self, construct_id, ref.function_arn)
        return self.functions[ref.sample_function]  # type: ignore[index]

    def _sample_function(
        self, name: str, powertools: lambda_.ILayerVersion, retention: logs.RetentionDays, description: str | None = None
    ) -> lambda_.Function:
        """A function of ``lambdas/<name>/`` with its own log group and a role that writes only there."""
        log_group = logs.LogGroup(
            self, f"{name.capitalize()}Logs", retention=retention, removal_policy=RemovalPolicy.DESTROY
        )
        role = iam.Role(
            self,
            f"{name.capitalize()}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{'Sample callee' if description is None else 'Function'} {name}: writes its own logs only",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Only X-Ray tracing uses '*': xray:PutTraceSegments and PutTelemetryRecords do not support "
                    "resource-level permissions."
                ),
            )
        )
        return lambda_.Function(
            self,
            name.capitalize(),
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.X86_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR / name)),
            layers=[powertools],
            role=role,
            log_group=log_group,
            timeout=Duration.seconds(30),
            memory_size=256,
            tracing=lambda_.Tracing.ACTIVE,
            environment={"POWERTOOLS_SERVICE_NAME": name, "POWERTOOLS_LOG_LEVEL": "INFO"},
            description=description or f"Sample callee of the circuit breaker: {name}",
        )
