"""Log levels: what the deployed workflow writes to its log group at ALL, ERROR, FATAL and OFF.

The session's breaker is deployed at ALL; each test sets the level as deploying the construct with
``log_level`` does (the state machine's logging configuration), runs real executions, and checks the records
against Step Functions' *Log levels* and the metric filters the construct makes at that level.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from circuit_breaker.cdk import Callee, CircuitBreaker, CircuitBreakerProps
from tests.cdk.test_monitoring import counted
from tests.conftest import Breaker

#: Step Functions' Log levels (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html):
#: the event types this workflow can produce at each level other than ALL.
FATAL_TYPES = {"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"}
ERROR_TYPES = FATAL_TYPES | {"FailStateEntered", "TaskFailed", "TaskStartFailed", "TaskStateAborted", "TaskSubmitFailed", "TaskTimedOut"}


@pytest.fixture
def log_level(breaker: Breaker) -> Iterator[Callable[[str], None]]:
    sfn = breaker.sfn
    arn = breaker.engine.deployment().state_machine_arn
    deployed = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]

    def set_level(level: str) -> None:
        sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={**deployed, "level": level})

    yield set_level
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=deployed)


def _records(breaker: Breaker, since_ms: int) -> list[dict[str, Any]]:
    logs = breaker.engine.session().client("logs")
    events = logs.filter_log_events(logGroupName=breaker.engine.deployment().log_group_name, startTime=since_ms)["events"]
    return [json.loads(e["message"]) for e in events]


def _template_at(level: str) -> dict[str, Any]:
    """The construct's template at ``level`` (its metric filters are what an operator gets)."""
    stack = cdk.Stack(cdk.App(), "Levels")
    function = lambda_.Function.from_function_arn(stack, "Fn", "arn:aws:lambda:eu-west-1:123456789012:function:flaky")
    CircuitBreaker(stack, "Breaker", CircuitBreakerProps(callees={"flaky": Callee(function)}, log_level=level))
    return Template.from_stack(stack).to_json()


def _calls(breaker: Breaker) -> dict[str, str]:
    """A healthy call, a call whose callee fails (4 attempts), a fast fail; their execution ARNs by kind."""
    healthy = breaker.call("echo", {"ok": 1})
    failed = breaker.call("flaky", {"fail": True})
    until = int(breaker.now()) + 300
    breaker.put_item("flaky-once", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)
    fast = breaker.call("flaky-once", {"ok": 2})
    assert (healthy.status, failed.error, fast.error) == ("SUCCEEDED", "CircuitBreaker.CalleeFailed", "CircuitBreaker.CircuitOpen")
    return {"healthy": healthy.arn, "failed": failed.arn, "fast": fast.arn}


def test_at_error_a_healthy_call_writes_nothing_and_failures_feed_the_breaker_wide_metrics(
    breaker: Breaker, log_level: Callable[[str], None]
) -> None:
    log_level("ERROR")
    since = int(breaker.now() * 1000) - 1
    arns = _calls(breaker)
    breaker.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException", times=3)
    throttled = breaker.call("echo", {"ok": 3})  # three refused reads, then fails open
    assert throttled.status == "SUCCEEDED" and "Call anyway?" in throttled.states
    records = _records(breaker, since)
    by_execution = {kind: [r["type"] for r in records if r["execution_arn"] == arn] for kind, arn in arns.items()}
    assert by_execution["healthy"] == []  # nothing to inspect of a successful call
    assert by_execution["failed"].count("TaskFailed") == 4 and by_execution["failed"][-1] == "ExecutionFailed"
    assert "ExecutionFailed" in by_execution["fast"]
    assert {r["type"] for r in records} <= ERROR_TYPES
    assert not any("assignedVariables" in r["details"] for r in records)  # no marker survives: no per-callee metric
    counts = counted(_template_at("ERROR"), records)
    assert counts == {("CircuitBreaker", "StoreErrors"): 3, ("CircuitBreaker", "FailedFast"): 1, ("CircuitBreaker", "CalleeFailedCalls"): 1}


@pytest.mark.parametrize("level", ["FATAL", "OFF"])
def test_at_fatal_only_failed_executions_are_logged_and_at_off_nothing(
    breaker: Breaker, log_level: Callable[[str], None], level: str
) -> None:
    log_level(level)
    since = int(breaker.now() * 1000) - 1
    arns = _calls(breaker)
    records = _records(breaker, since)
    if level == "OFF":
        assert records == []
        return
    assert [(r["execution_arn"], r["type"]) for r in records] == [(arns["failed"], "ExecutionFailed"), (arns["fast"], "ExecutionFailed")]
    counts = counted(_template_at("FATAL"), records)
    assert counts == {("CircuitBreaker", "FailedFast"): 1, ("CircuitBreaker", "CalleeFailedCalls"): 1}
