"""Metrics, alarms and dashboard: in the template, and counting what the workflow really logs."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from tests.conftest import MONITORED_CALLEES, Breaker
from tests.cdk.test_template import resources

_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||\$\.[A-Za-z0-9_.]+ = "[^"]*")')
_EQUALITY = re.compile(r'^\$\.([A-Za-z0-9_.]+) = "([^"]*)"$')


def _equals(path: str, expected: str, record: dict[str, Any]) -> bool:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return str(value) == expected if not isinstance(value, (dict, list)) else False


def matches(pattern: str, record: dict[str, Any]) -> bool:
    """CloudWatch Logs' JSON patterns as the construct writes them: ``{ $.a.b = "v" }``, joined by ``&&``/``||`` in parentheses."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), f"unexpected filter pattern {pattern!r}"
    tokens, text = [], body[1:-1].strip()
    while text:
        found = _TOKEN.match(text)
        assert found, f"unexpected filter pattern {pattern!r} at {text!r}"
        tokens.append(found.group(1))
        text = text[found.end():].strip()

    def expression(position: int) -> tuple[bool, int]:
        value, position = term(position)
        while position < len(tokens) and tokens[position] in ("&&", "||"):
            operator = tokens[position]
            right, position = term(position + 1)
            value = (value and right) if operator == "&&" else (value or right)
        return value, position

    def term(position: int) -> tuple[bool, int]:
        if tokens[position] == "(":
            value, position = expression(position + 1)
            assert tokens[position] == ")", f"unbalanced filter pattern {pattern!r}"
            return value, position + 1
        equality = _EQUALITY.match(tokens[position])
        assert equality, f"unexpected term {tokens[position]!r} in {pattern!r}"
        return _equals(equality.group(1), equality.group(2), record), position + 1

    value, end = expression(0)
    assert end == len(tokens), f"unexpected filter pattern {pattern!r}"
    return value


def counted(template: dict[str, Any], records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """What each metric filter of the template counts in ``records``: (namespace, metric name) -> matches."""
    counts: Counter[tuple[str, str]] = Counter()
    for metric_filter in filters(template):
        transformation = metric_filter["MetricTransformations"][0]
        key = (transformation["MetricNamespace"], transformation["MetricName"])
        counts[key] += sum(matches(metric_filter["FilterPattern"], r) for r in records)
    return counts


def filters(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, "AWS::Logs::MetricFilter").values()]


def test_every_callee_gets_six_metrics_three_alarms_and_a_dashboard_row(template: dict[str, Any]) -> None:
    found = filters(template)
    callees = len(MONITORED_CALLEES)
    per_callee = [f for f in found if f["MetricTransformations"][0]["MetricNamespace"].startswith("CircuitBreaker/")]
    assert len(per_callee) == callees * 6 + 2  # one more for the callee in observe mode, one for the one with slow_call_seconds
    namespaces = Counter(f["MetricTransformations"][0]["MetricNamespace"] for f in found)
    assert namespaces["CircuitBreaker/flaky"] == 6 and "CircuitBreaker/flaky-deadline" not in namespaces  # not monitored
    names = {f["MetricTransformations"][0]["MetricName"] for f in per_callee}
    assert names == {"Calls", "CalleeFailures", "ShortCircuits", "Opens", "Fallbacks", "FailOpens", "ObservedShortCircuits", "SlowCalls"}
    by_namespace = {(f["MetricTransformations"][0]["MetricNamespace"], f["MetricTransformations"][0]["MetricName"]) for f in per_callee}
    assert ("CircuitBreaker/flaky-observe", "ObservedShortCircuits") in by_namespace and ("CircuitBreaker/flaky-rate", "SlowCalls") in by_namespace
    # level ALL with execution data: the one breaker-wide metric is the table's refused requests
    assert [f["MetricTransformations"][0]["MetricName"] for f in found if f not in per_callee] == ["StoreErrors"]
    alarms = [r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values() if r["Properties"]["Namespace"].startswith("CircuitBreaker")]
    assert len(alarms) == callees * 3 + 1
    opened = next(a for a in alarms if a["Namespace"] == "CircuitBreaker/flaky" and a["MetricName"] == "Opens")
    assert (opened["Threshold"], opened["EvaluationPeriods"], opened["Statistic"], opened["Period"]) == (1, 1, "Sum", 60)
    stays = next(a for a in alarms if a["Namespace"] == "CircuitBreaker/flaky" and a["MetricName"] == "ShortCircuits")
    assert stays["EvaluationPeriods"] == stays["DatapointsToAlarm"] == 5
    failed_open = next(a for a in alarms if a["Namespace"] == "CircuitBreaker/flaky" and a["MetricName"] == "FailOpens")
    assert (failed_open["Threshold"], failed_open["EvaluationPeriods"]) == (1, 1)
    assert any(a["Namespace"] == "CircuitBreaker" and a["MetricName"] == "StoreErrors" for a in alarms)
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
    counts = Counter({(namespace.removeprefix("CircuitBreaker/"), name): n for (namespace, name), n in counted(template, records).items()})
    assert counts[("flaky", "Calls")] == 6  # every invocation, retries included: failures / calls is a rate
    assert counts[("flaky", "CalleeFailures")] == 5
    assert counts[("flaky", "Opens")] == 1
    assert counts[("flaky", "ShortCircuits")] == 1
    assert counts[("echo", "Calls")] == 1
    assert counts[("flaky", "FailOpens")] == 0 and counts[("CircuitBreaker", "StoreErrors")] == 0  # the table answered every read
    assert sum(n for (callee, _), n in counts.items() if callee not in ("flaky", "echo")) == 0
