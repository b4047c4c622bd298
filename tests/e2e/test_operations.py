"""What an operator has, end to end: executions found in the log group, health checks, metrics, alarms.

``flaky-health``'s check invokes ``flaky`` with ``{"fail": true}``: every check is unhealthy, and its
``failures_to_open`` (100) is never reached during a run, so a check only counts.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from tests.e2e.target import LOG_DELIVERY_SECONDS, METRIC_DELIVERY_SECONDS, Target, eventually

pytestmark = pytest.mark.e2e

#: The metrics each callee's metric filters count (README, *Metrics, alarms, dashboard*).
METRICS = {"Calls", "CalleeFailures", "ShortCircuits", "Opens", "Fallbacks", "FailOpens"}
#: The breaker-wide metrics at log level ALL: every request the circuit table refused.
BREAKER_METRICS = {"StoreErrors"}
NAMESPACE = "CircuitBreaker"
#: An EventBridge Scheduler rate(1 minute) schedule fires within this long (a minute and a margin).
SCHEDULE_SECONDS = 150.0


def test_executions_are_found_in_the_log_group_as_the_console_and_the_cli_find_them(target: Target) -> None:
    outcome = target.call("echo", {"inspect": "me"})

    log = target.execution_log(outcome.arn)
    started = log.records[0]
    assert started["type"] == "ExecutionStarted" and '"inspect": "me"' in started["details"]["input"]
    assert log.states == ["Check input", "Get circuit", "Check circuit", "Call callee"]

    def listed() -> dict[str, Any] | None:
        found = target.cli_json("executions", "--callee", "echo", "--since", "15m", "--limit", "500")
        return next((e for e in found if e["execution_arn"] == outcome.arn), None)

    summary = eventually(listed, LOG_DELIVERY_SECONDS, f"`breaker executions` did not list {outcome.arn}", interval=3.0)
    assert (summary["status"], summary["callee"]) == ("SUCCEEDED", "echo")
    history = target.cli_json("history", outcome.arn, "--since", "1h")
    assert history["status"] == "SUCCEEDED"
    assert [state["name"] for state in history["states"]] == log.states


def test_one_health_check_run_invokes_the_deployed_check_and_counts_it(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky-health")
    before = time.time()

    checked = target.cli("health-check", "run", callee, "--json", check=1)  # exit 1: unhealthy

    outcome = json.loads(checked.stdout)
    assert (outcome["callee"], outcome["healthy"], outcome["state"], outcome["threshold"]) == (callee, False, "CLOSED", 100)
    assert "FlakyError" in outcome["detail"]
    assert outcome["transition"] is None and outcome["streak"] >= 1  # on AWS its schedule may have counted one too
    item = target.item(callee)
    # On AWS the schedule may count another check between the run and this read.
    assert item["HealthStreak"] >= outcome["streak"] if target.on_aws else item["HealthStreak"] == outcome["streak"] == 1
    assert item["HealthCheckedAt"] >= int(before) - 1


@pytest.mark.aws_only(reason="the local engine stores EventBridge Scheduler schedules but never fires them")
def test_the_scheduled_health_check_fires_by_itself(target: Target) -> None:
    callee = "flaky-health"
    seen = (target.item(callee) or {}).get("HealthCheckedAt", 0)

    def fired() -> int | None:
        checked_at = (target.item(callee) or {}).get("HealthCheckedAt", 0)
        return checked_at if checked_at > seen else None

    eventually(fired, SCHEDULE_SECONDS, f"the schedule of {callee}'s health check did not run it", interval=5.0)


def test_every_callee_has_its_metric_filters_and_alarms_and_the_queue_its_alarm(target: Target) -> None:
    filters = target.client("logs").describe_metric_filters(logGroupName=target.log_group)["metricFilters"]
    counted = {(t["metricNamespace"], t["metricName"]) for f in filters for t in f["metricTransformations"]}
    assert counted == {(f"{NAMESPACE}/{callee}", metric) for callee in target.callees for metric in METRICS} | {
        (NAMESPACE, metric) for metric in BREAKER_METRICS
    }
    per_callee = [f for f in filters if f["metricTransformations"][0]["metricNamespace"] != NAMESPACE]
    assert all(f["filterPattern"].startswith("{ $.details.assignedVariables.") for f in per_callee), [f["filterPattern"] for f in per_callee]

    resources = target.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=target.stack)
    names = [r["PhysicalResourceId"] for page in resources for r in page["StackResourceSummaries"] if r["ResourceType"] == "AWS::CloudWatch::Alarm"]
    alarms = [a for start in range(0, len(names), 100) for a in target.client("cloudwatch").describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]]
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms}
    for callee in target.callees:
        assert {(f"{NAMESPACE}/{callee}", "Opens"), (f"{NAMESPACE}/{callee}", "ShortCircuits"), (f"{NAMESPACE}/{callee}", "FailOpens")} <= watched
    assert (NAMESPACE, "StoreErrors") in watched
    queue_name = target.outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1]
    queue_alarms = [a for a in alarms if a["Namespace"] == "AWS/SQS"]
    assert [(a["MetricName"], a["Dimensions"]) for a in queue_alarms] == [
        ("ApproximateNumberOfMessagesVisible", [{"Name": "QueueName", "Value": queue_name}])
    ]
    assert len(alarms) == 3 * len(target.callees) + 2  # opened, stays open, failed open; the store errors; the queue


@pytest.mark.aws_only(reason="the local engine stores metric filters but they emit no data points")
def test_the_metric_filters_turn_calls_into_data_points(target: Target) -> None:
    since = datetime.now(timezone.utc) - timedelta(minutes=2)
    assert target.call("echo", {"metric": 1}).status == "SUCCEEDED"
    cloudwatch = target.client("cloudwatch")

    def counted() -> float | None:
        points = cloudwatch.get_metric_statistics(
            Namespace=f"{NAMESPACE}/echo", MetricName="Calls", StartTime=since,
            EndTime=datetime.now(timezone.utc) + timedelta(minutes=1), Period=60, Statistics=["Sum"],
        )["Datapoints"]  # fmt: skip
        total = sum(p["Sum"] for p in points)
        return total if total >= 1 else None

    eventually(counted, METRIC_DELIVERY_SECONDS, f"no data point of {NAMESPACE}/echo Calls", interval=15.0)


def test_the_stack_carries_its_run_s_marks_which_the_driver_checks_before_touching_it(target: Target) -> None:
    stack = target.client("cloudformation").describe_stacks(StackName=target.stack)["Stacks"][0]
    run_id = target.stack.removeprefix("CircuitBreakerE2E-")
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    assert (tags.get("circuit-breaker:e2e-run"), target.outputs["E2ERunId"]) == (run_id, run_id)
