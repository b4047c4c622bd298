"""Metrics, alarms and a dashboard for a circuit breaker, read from its execution logs.

Nothing is added to the workflow's healthy path: the workflow marks what happened by assigning
variables (``calling``, ``shortCircuited``, ``calleeFailed``, ``opened``, ``fellBack``; ``observedShortCircuit``
and ``slowCall`` for callees in observe mode or with ``slow_call_seconds``) to the callee's
``metricId``, Step Functions logs every state's assigned variables (logging level ALL), and one
metric filter per callee and marker turns matching log events into a count. A metric filter cannot
take a constant dimension, so each callee's metrics live in their own namespace,
``<namespace>/<callee>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from circuit_breaker.core.settings import CalleeSettings, Mode

#: The workflow's markers (variables assigned to the callee's metricId) and the metric each becomes:
#: Calls and CalleeFailures count invocations (every attempt and probe), so their ratio is a failure rate;
#: ShortCircuits counts calls answered without invoking the callee; Opens, each open or reopen; Fallbacks,
#: calls a fallback answered.
MARKERS: Mapping[str, str] = {
    "calling": "Calls",
    "calleeFailed": "CalleeFailures",
    "shortCircuited": "ShortCircuits",
    "opened": "Opens",
    "fellBack": "Fallbacks",
}

#: Markers only some callees can produce, and the metric each becomes: ObservedShortCircuits counts the calls an
#: ``observe``-mode callee would have failed fast (the callee was called anyway); SlowCalls counts answers slower
#: than ``slow_call_seconds`` (counted towards opening). A callee gets their filters only when it can produce them.
OPTIONAL_MARKERS: Mapping[str, str] = {
    "observedShortCircuit": "ObservedShortCircuits",
    "slowCall": "SlowCalls",
}

#: CloudWatch Logs allows 100 metric filters per log group.
MAX_METRIC_FILTERS = 100
MAX_MONITORED_CALLEES = MAX_METRIC_FILTERS // len(MARKERS)


def optional_markers(settings: CalleeSettings) -> tuple[str, ...]:
    """The optional markers a callee with ``settings`` can produce."""
    markers = []
    if settings.mode is Mode.OBSERVE:
        markers.append("observedShortCircuit")
    if settings.slow_call_seconds is not None:
        markers.append("slowCall")
    return tuple(markers)


def metric_filter_count(callees: Mapping[str, CalleeSettings]) -> int:
    """How many metric filters monitoring these callees takes (a log group takes at most 100)."""
    return sum(len(MARKERS) + len(optional_markers(settings)) for settings in callees.values())


@dataclass(frozen=True)
class CalleeAlarms:
    """The alarms of one callee."""

    opened: cloudwatch.Alarm
    """In alarm in a minute in which the circuit opened (or reopened after a failed probe)."""
    stays_open: cloudwatch.Alarm
    """In alarm when calls were short-circuited in every minute for ``stays_open_minutes``."""


class CircuitBreakerMonitoring(Construct):
    """Metric filters, per-callee alarms and a dashboard over a breaker's execution log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        state_machine: sfn.IStateMachine,
        metric_ids: Mapping[str, int],
        namespace: str,
        extra_markers: Mapping[str, tuple[str, ...]] | None = None,
        stays_open_minutes: int,
        dashboard_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        self.metrics: dict[str, dict[str, cloudwatch.Metric]] = {}
        self.alarms: dict[str, CalleeAlarms] = {}
        for callee, metric_id in sorted(metric_ids.items()):
            self.metrics[callee] = {
                metric_name: logs.MetricFilter(
                    self,
                    f"{callee}-{metric_name}",
                    log_group=log_group,
                    metric_namespace=f"{namespace}/{callee}",
                    metric_name=metric_name,
                    filter_pattern=logs.FilterPattern.string_value(
                        f"$.details.assignedVariables.{marker}", "=", str(metric_id)
                    ),
                    metric_value="1",
                ).metric(statistic="Sum", period=Duration.minutes(1))
                for marker, metric_name in [*MARKERS.items(), *((m, OPTIONAL_MARKERS[m]) for m in (extra_markers or {}).get(callee, ()))]
            }
            self.alarms[callee] = CalleeAlarms(
                opened=cloudwatch.Alarm(
                    self,
                    f"{callee}-Opened",
                    metric=self.metrics[callee]["Opens"],
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"The circuit of {callee} opened: its calls fail fast until the break ends.",
                ),
                stays_open=cloudwatch.Alarm(
                    self,
                    f"{callee}-StaysOpen",
                    metric=self.metrics[callee]["ShortCircuits"],
                    threshold=1,
                    evaluation_periods=stays_open_minutes,
                    datapoints_to_alarm=stays_open_minutes,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=(
                        f"Calls to {callee} have been short-circuited every minute for {stays_open_minutes} minutes: "
                        "its circuit stays open (failed probes, or an operator's isolation)."
                    ),
                ),
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[state_machine.metric_started(), state_machine.metric_succeeded(), state_machine.metric_failed()],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Execution time", left=[state_machine.metric_time()], width=12),
        )
        for callee, metrics in self.metrics.items():
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(title=f"{callee}: calls", left=[metrics["Calls"]], right=[metrics["CalleeFailures"]], width=12),
                cloudwatch.GraphWidget(
                    title=f"{callee}: short-circuited, fallbacks and opens",
                    left=[metrics["ShortCircuits"], metrics["Fallbacks"]],
                    right=[metrics["Opens"]],
                    width=12,
                ),
                *(
                    [cloudwatch.GraphWidget(title=f"{callee}: observed and slow", left=[m for n, m in metrics.items() if n in OPTIONAL_MARKERS.values()], width=24)]
                    if any(n in OPTIONAL_MARKERS.values() for n in metrics)
                    else []
                ),
                cloudwatch.AlarmStatusWidget(
                    title=f"{callee}: alarms",
                    alarms=[self.alarms[callee].opened, self.alarms[callee].stays_open],
                    width=24,
                    height=3,
                ),
            )
