"""Metrics, alarms and dashboard: in the template, and counting what the workflow really logs."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from tests.conftest import TEST_CALLEES, Breaker
from tests.cdk.test_template import resources

_EQUALITY = re.compile(r'^\{ \$\.([A-Za-z0-9_.]+) = "([^"]*)" \}$')


def matches(pattern: str, record: dict[str, Any]) -> bool:
    """CloudWatch Logs' JSON equality pattern ``{ $.a.b = "v" }`` (the only form the construct writes)."""
    match = _EQUALITY.match(pattern)
    assert match, f"unexpected filter pattern {pattern!r}"
    value: Any = record
    for part in match.group(1).split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return str(value) == match.group(2) if not isinstance(value, (dict, list)) else False


def filters(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, "AWS::Logs::MetricFilter").values()]


def test_every_callee_gets_five_metrics_two_alarms_and_a_dashboard_row(template: dict[str, Any]) -> None:
    found = filters(template)
    callees = len(["echo", "flaky", *TEST_CALLEES])
    assert len(found) == callees * 5 + 2  # one more for the callee in observe mode, one for the one with slow_call_seconds
    namespaces = Counter(f["MetricTransformations"][0]["MetricNamespace"] for f in found)
    assert namespaces["CircuitBreaker/flaky"] == 5
    names = {f["MetricTransformations"][0]["MetricName"] for f in found}
    assert names == {"Calls", "CalleeFailures", "ShortCircuits", "Opens", "Fallbacks", "ObservedShortCircuits", "SlowCalls"}
    by_namespace = {(f["MetricTransformations"][0]["MetricNamespace"], f["MetricTransformations"][0]["MetricName"]) for f in found}
    assert ("CircuitBreaker/flaky-observe", "ObservedShortCircuits") in by_namespace and ("CircuitBreaker/flaky-rate", "SlowCalls") in by_namespace
    alarms = [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values() if r["Properties"]["Namespace"].startswith("CircuitBreaker/")]
    assert len(alarms) == callees * 2
    opened = next(a for a in alarms if a["Namespace"] == "CircuitBreaker/flaky" and a["MetricName"] == "Opens")
    assert (opened["Threshold"], opened["EvaluationPeriods"], opened["Statistic"], opened["Period"]) == (1, 1, "Sum", 60)
    stays = next(a for a in alarms if a["Namespace"] == "CircuitBreaker/flaky" and a["MetricName"] == "ShortCircuits")
    assert stays["EvaluationPeriods"] == stays["DatapointsToAlarm"] == 5
    assert all(a["TreatMissingData"] == "notBreaching" for a in alarms)
    [dashboard] = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "flaky: calls" in body and "flaky: alarms" in body


def test_the_metric_filters_count_what_the_workflow_logs(breaker: Breaker, template: dict[str, Any]) -> None:
    logs = breaker.engine.session().client("logs")
    group = breaker.engine.deployment().log_group_name
    start = int(breaker.now() * 1000) - 1

    breaker.call("flaky", {"ok": 1})                      # an invocation
    breaker.call("flaky", {"fail": True})                 # four failed invocations (threshold 5)
    breaker.call("flaky", {"fail": True})                 # the fifth failed invocation opens
    breaker.call("flaky", {"ok": 2})                      # short-circuited
    breaker.call("echo", {"ok": 3})                       # another callee's invocation

    records = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group, startTime=start)["events"]]
    counts: Counter[tuple[str, str]] = Counter()
    for metric_filter in filters(template):
        transformation = metric_filter["MetricTransformations"][0]
        callee = transformation["MetricNamespace"].split("/", 1)[1]
        counts[(callee, transformation["MetricName"])] += sum(matches(metric_filter["FilterPattern"], r) for r in records)
    assert counts[("flaky", "Calls")] == 6  # every invocation, retries included: failures / calls is a rate
    assert counts[("flaky", "CalleeFailures")] == 5
    assert counts[("flaky", "Opens")] == 1
    assert counts[("flaky", "ShortCircuits")] == 1
    assert counts[("echo", "Calls")] == 1
    assert sum(n for (callee, _), n in counts.items() if callee not in ("flaky", "echo")) == 0
