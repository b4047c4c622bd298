"""Metrics, alarms and a dashboard for a circuit breaker, read from its execution logs.

Nothing is added to the workflow's healthy path: the workflow marks what happened by assigning
variables (``calling``, ``shortCircuited``, ``calleeFailed``, ``opened``, ``fellBack``, ``failedOpen``) to the
callee's ``metricId``, Step Functions logs every state's assigned variables (logging level ALL, with execution
data), and one metric filter per callee and marker turns matching log events into a count. A metric filter cannot
take a constant dimension, so each callee's metrics live in their own namespace, ``<namespace>/<callee>``.

The markers are in ALL-level records only. What the other levels still log (Step Functions' *Log levels*:
ERROR keeps failed tasks and failed executions, FATAL failed executions, OFF nothing) feeds breaker-wide
metrics in ``<namespace>`` (:data:`BREAKER_METRICS`): the circuit table's refused requests (``StoreErrors``, at
ALL and ERROR) and, without the markers, the executions that failed fast or with the callee's failure. No
metric filter is created whose records the level does not write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from circuit_breaker.core.settings import CalleeSettings, LogLevel, Mode

#: The workflow's markers (variables assigned to the callee's metricId) and the metric each becomes:
#: Calls and CalleeFailures count invocations (every attempt and probe), so their ratio is a failure rate;
#: ShortCircuits counts calls answered without invoking the callee; Opens, each open or reopen; Fallbacks,
#: calls a fallback answered; FailOpens, calls made unguarded because the circuit table could not be read.
MARKERS: Mapping[str, str] = {
    "calling": "Calls",
    "calleeFailed": "CalleeFailures",
    "shortCircuited": "ShortCircuits",
    "opened": "Opens",
    "fellBack": "Fallbacks",
    "failedOpen": "FailOpens",
}

#: Markers only some callees can produce, and the metric each becomes: ObservedShortCircuits counts the calls an
#: ``observe``-mode callee would have failed fast (the callee was called anyway); SlowCalls counts answers slower
#: than ``slow_call_seconds`` (counted towards opening). A callee gets their filters only when it can produce them.
OPTIONAL_MARKERS: Mapping[str, str] = {
    "observedShortCircuit": "ObservedShortCircuits",
    "slowCall": "SlowCalls",
}


def optional_markers(settings: CalleeSettings) -> tuple[str, ...]:
    """The optional markers a callee with ``settings`` can produce."""
    markers = []
    if settings.mode is Mode.OBSERVE:
        markers.append("observedShortCircuit")
    if settings.slow_call_seconds is not None:
        markers.append("slowCall")
    return tuple(markers)


_TASK_FAILED = logs.FilterPattern.string_value("$.type", "=", "TaskFailed")
_EXECUTION_FAILED = logs.FilterPattern.string_value("$.type", "=", "ExecutionFailed")


def _failed_with(*errors: str) -> logs.JsonPattern:
    return logs.FilterPattern.all(
        _EXECUTION_FAILED, logs.FilterPattern.any(*(logs.FilterPattern.string_value("$.details.error", "=", e) for e in errors))
    )


@dataclass(frozen=True)
class BreakerMetric:
    """A breaker-wide metric (all callees together) read from records that levels other than ALL keep too."""

    name: str
    pattern: logs.JsonPattern
    levels: frozenset[LogLevel]
    """The levels whose records it matches."""
    without_markers_only: bool
    """Only when the per-callee markers are not logged (they count the same, per callee)."""


#: Breaker-wide metrics. ``StoreErrors``: every request the circuit table refused (a TaskFailed of a DynamoDB task:
#: throttling, an outage; retries included), the sign that reads fail open or bookkeeping is lost. ``FailedFast``:
#: executions that ended CircuitOpen or CircuitIsolated. ``CalleeFailedCalls``: executions that ended CalleeFailed.
#: The event type and resource type are not execution data: they are logged with ``log_execution_data=False`` too.
BREAKER_METRICS: tuple[BreakerMetric, ...] = (
    BreakerMetric(
        "StoreErrors",
        logs.FilterPattern.all(_TASK_FAILED, logs.FilterPattern.string_value("$.details.resourceType", "=", "dynamodb")),
        frozenset({LogLevel.ALL, LogLevel.ERROR}),
        without_markers_only=False,
    ),
    BreakerMetric(
        "FailedFast",
        _failed_with("CircuitBreaker.CircuitOpen", "CircuitBreaker.CircuitIsolated"),
        frozenset({LogLevel.ALL, LogLevel.ERROR, LogLevel.FATAL}),
        without_markers_only=True,
    ),
    BreakerMetric(
        "CalleeFailedCalls",
        _failed_with("CircuitBreaker.CalleeFailed"),
        frozenset({LogLevel.ALL, LogLevel.ERROR, LogLevel.FATAL}),
        without_markers_only=True,
    ),
)

#: CloudWatch Logs allows 100 metric filters per log group.
MAX_METRIC_FILTERS = 100


def metric_filter_count(callees: Mapping[str, CalleeSettings], level: LogLevel = LogLevel.ALL, execution_data: bool = True) -> int:
    """How many metric filters monitoring these callees takes at ``level`` (a log group takes at most 100)."""
    per_callee = sum(len(MARKERS) + len(optional_markers(s)) for s in callees.values()) if markers_logged(level, execution_data) else 0
    return per_callee + len(breaker_metrics(level, execution_data))


def markers_logged(level: LogLevel, execution_data: bool) -> bool:
    """Whether the workflow's markers reach the log group: only ALL-level records with execution data hold them."""
    return level is LogLevel.ALL and execution_data


def breaker_metrics(level: LogLevel, execution_data: bool) -> tuple[BreakerMetric, ...]:
    """The breaker-wide metrics whose records ``level`` writes (none at OFF)."""
    markers = markers_logged(level, execution_data)
    return tuple(m for m in BREAKER_METRICS if level in m.levels and not (m.without_markers_only and markers))


@dataclass(frozen=True)
class CalleeAlarms:
    """The alarms of one callee."""

    opened: cloudwatch.Alarm
    """In alarm in a minute in which the circuit opened (or reopened after a failed probe)."""
    stays_open: cloudwatch.Alarm
    """In alarm when calls were short-circuited in every minute for ``stays_open_minutes``."""
    failed_open: cloudwatch.Alarm
    """In alarm in a minute in which calls went to the callee unguarded: the circuit table could not be read."""


class CircuitBreakerMonitoring(Construct):
    """Metric filters, alarms and a dashboard over a breaker's execution log group, as far as its log level allows.

    Per callee (level ALL with execution data): the :data:`MARKERS` metrics and three alarms (opened, stays open,
    failed open). Breaker-wide (:func:`breaker_metrics`): ``StoreErrors`` with an alarm at ALL and ERROR; without
    the markers, ``FailedFast`` (with a stays-open alarm that then watches only calls that failed fast: a fallback's
    answers are not failures and are not logged) and ``CalleeFailedCalls``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        state_machine: sfn.IStateMachine,
        metric_ids: Mapping[str, int],
        namespace: str,
        stays_open_minutes: int,
        dashboard_name: str | None = None,
        log_level: LogLevel = LogLevel.ALL,
        log_execution_data: bool = True,
        extra_markers: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        self._log_group = log_group
        self.metrics: dict[str, dict[str, cloudwatch.Metric]] = {}
        self.alarms: dict[str, CalleeAlarms] = {}
        self.breaker_metrics: dict[str, cloudwatch.Metric] = {
            metric.name: self._count(metric.name, namespace, metric.name, metric.pattern)
            for metric in breaker_metrics(log_level, log_execution_data)
        }
        self.breaker_alarms: dict[str, cloudwatch.Alarm] = {}
        if "StoreErrors" in self.breaker_metrics:
            self.breaker_alarms["StoreErrors"] = self._alarm(
                "StoreErrorsAlarm",
                self.breaker_metrics["StoreErrors"],
                "The circuit table refused requests (throttled or unavailable): reads that still fail after "
                "retries let calls through unguarded (on_store_error: call) or fail them, and failures go uncounted.",
            )
        if "FailedFast" in self.breaker_metrics:
            self.breaker_alarms["StaysOpen"] = self._alarm(
                "StaysOpenAlarm",
                self.breaker_metrics["FailedFast"],
                f"Calls (of any callee) have failed fast every minute for {stays_open_minutes} minutes: a circuit stays "
                "open or isolated. Watches failed executions only: answers from a fallback are not counted.",
                minutes=stays_open_minutes,
            )
        markers = metric_ids if markers_logged(log_level, log_execution_data) else {}
        for callee, metric_id in sorted(markers.items()):
            self.metrics[callee] = {
                metric_name: self._count(
                    f"{callee}-{metric_name}",
                    f"{namespace}/{callee}",
                    metric_name,
                    logs.FilterPattern.string_value(f"$.details.assignedVariables.{marker}", "=", str(metric_id)),
                )
                for marker, metric_name in [*MARKERS.items(), *((m, OPTIONAL_MARKERS[m]) for m in (extra_markers or {}).get(callee, ()))]
            }
            self.alarms[callee] = CalleeAlarms(
                opened=self._alarm(
                    f"{callee}-Opened",
                    self.metrics[callee]["Opens"],
                    f"The circuit of {callee} opened: its calls fail fast until the break ends.",
                ),
                stays_open=self._alarm(
                    f"{callee}-StaysOpen",
                    self.metrics[callee]["ShortCircuits"],
                    f"Calls to {callee} have been short-circuited every minute for {stays_open_minutes} minutes: "
                    "its circuit stays open (failed probes, or an operator's isolation).",
                    minutes=stays_open_minutes,
                ),
                failed_open=self._alarm(
                    f"{callee}-FailedOpen",
                    self.metrics[callee]["FailOpens"],
                    f"Calls to {callee} went through unguarded: its circuit could not be read (throttled or unavailable "
                    "table), so the breaker failed open and protected nothing.",
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
        if self.breaker_metrics:
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(title="All callees: failures", left=list(self.breaker_metrics.values()), width=12),
                cloudwatch.AlarmStatusWidget(
                    title="All callees: alarms", alarms=list(self.breaker_alarms.values()), width=12, height=3
                ),
            )
        for callee, metrics in self.metrics.items():
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(title=f"{callee}: calls", left=[metrics["Calls"]], right=[metrics["CalleeFailures"]], width=12),
                cloudwatch.GraphWidget(
                    title=f"{callee}: short-circuited, fallbacks and opens",
                    left=[metrics["ShortCircuits"], metrics["Fallbacks"]],
                    right=[metrics["Opens"], metrics["FailOpens"]],
                    width=12,
                ),
                *(
                    [cloudwatch.GraphWidget(title=f"{callee}: observed and slow", left=[m for n, m in metrics.items() if n in OPTIONAL_MARKERS.values()], width=24)]
                    if any(n in OPTIONAL_MARKERS.values() for n in metrics)
                    else []
                ),
                cloudwatch.AlarmStatusWidget(
                    title=f"{callee}: alarms",
                    alarms=[self.alarms[callee].opened, self.alarms[callee].stays_open, self.alarms[callee].failed_open],
                    width=24,
                    height=3,
                ),
            )

    def _count(self, construct_id: str, namespace: str, name: str, pattern: logs.IFilterPattern) -> cloudwatch.Metric:
        """A metric filter counting the log records that match ``pattern``, as a per-minute sum."""
        return logs.MetricFilter(
            self,
            construct_id,
            log_group=self._log_group,
            metric_namespace=namespace,
            metric_name=name,
            filter_pattern=pattern,
            metric_value="1",
        ).metric(statistic="Sum", period=Duration.minutes(1))

    def _alarm(self, construct_id: str, metric: cloudwatch.Metric, description: str, minutes: int = 1) -> cloudwatch.Alarm:
        """In alarm when ``metric`` counted at least one in each of ``minutes`` minutes in a row."""
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes if minutes > 1 else None,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
