"""The workflow at production volume, with the engine enforcing DynamoDB's per-item limits (3,000 read units/s).

The limiter's clock is frozen (:class:`ManualClock`): the item's second of read units is spent the way the other
callers of a busy second spend it (accounted as served reads), and the workflow's own read is the one too many.
With time frozen the retries find the item as busy, as they would while the load lasts.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from circuit_breaker.local.throughput import PARTITION_READ_UNITS_PER_SECOND, ItemLimits, ManualClock
from tests.cdk.test_monitoring import counted
from tests.conftest import Breaker

THROTTLED = "DynamoDB.ProvisionedThroughputExceededException"


@pytest.fixture
def frozen(breaker: Breaker) -> Iterator[ManualClock]:
    """The engine enforces DynamoDB's per-item limits on a clock that only the test moves."""
    clock = ManualClock()
    breaker.engine.throughput.enforce(ItemLimits(clock=clock))
    try:
        yield clock
    finally:
        breaker.engine.throughput.enforce(None)


def _records(breaker: Breaker, execution_arn: str, since_ms: int) -> list[dict[str, Any]]:
    logs = breaker.engine.session().client("logs")
    events = logs.filter_log_events(logGroupName=breaker.engine.deployment().log_group_name, startTime=since_ms)["events"]
    return [r for r in (json.loads(e["message"]) for e in events) if r["execution_arn"] == execution_arn]


def test_a_hot_circuit_item_throttles_the_read_and_the_call_fails_open_and_says_so(
    breaker: Breaker, frozen: ManualClock, template: dict[str, Any]
) -> None:
    table = breaker.table
    since = int(breaker.now() * 1000) - 1
    # 3,000 strongly consistent reads of echo's one item in this second (1 read unit each): its limit.
    breaker.engine.throughput.consume(table, "echo", "read", PARTITION_READ_UNITS_PER_SECOND)
    before = breaker.invocations("Echo")

    outcome = breaker.call("echo", {"order": 42})

    # Get circuit is refused as DynamoDB refuses it, retried twice (its Retry), then the call fails open.
    assert outcome.status == "SUCCEEDED" and outcome.output == {"order": 42}
    assert breaker.invocations("Echo") == before + 1
    [read] = [v for v in outcome.path.visits if v.name == "Get circuit"]
    assert read.attempts == 3 and read.errors == [THROTTLED] * 3
    assert outcome.states[outcome.states.index("Get circuit") + 1] == "Call anyway?"
    refused = [r for r in breaker.engine.throughput.refusals if r.key == "echo"]
    assert [(r.direction, r.units) for r in refused] == [("read", 1.0)] * 3

    # The execution log says so: three refused reads, with DynamoDB's words, and the decision to call unguarded.
    records = _records(breaker, outcome.arn, since)
    failed = [r["details"] for r in records if r["type"] == "TaskFailed" and r["details"].get("resourceType") == "dynamodb"]
    assert [d["error"] for d in failed] == [THROTTLED] * 3
    assert all("Error Code: ProvisionedThroughputExceededException" in d["cause"] for d in failed)
    assert "The level of configured provisioned throughput for the table was exceeded." in failed[0]["cause"]
    metric_id = breaker.engine.deployment().registry["echo"].metric_id
    decided = [r for r in records if r["type"] == "ChoiceStateExited" and r["details"]["name"] == "Call anyway?"]
    assert len(decided) == 1 and decided[0]["details"]["assignedVariables"]["failedOpen"] == str(metric_id)

    # And the metrics an operator watches count it: one call made unguarded, three refused table requests.
    counts = counted(template, records)
    assert counts[("CircuitBreaker/echo", "FailOpens")] == 1
    assert counts[("CircuitBreaker", "StoreErrors")] == 3
    assert counts[("CircuitBreaker/echo", "Calls")] == 1


def test_below_the_limit_nothing_is_throttled(breaker: Breaker, frozen: ManualClock) -> None:
    # 2,999 reads already this second: the workflow's read is the 3,000th, within the limit.
    breaker.engine.throughput.consume(breaker.table, "echo", "read", PARTITION_READ_UNITS_PER_SECOND - 1)
    outcome = breaker.call("echo", {"order": 7})
    assert outcome.status == "SUCCEEDED" and "Call anyway?" not in outcome.states
    assert breaker.engine.throughput.refusals == []


def test_with_enough_read_shards_the_same_load_throttles_no_read(breaker: Breaker, frozen: ManualClock) -> None:
    """10,000 calls/s to one circuit spread over its 4 read shards: 2,500 strongly consistent reads (2,500 read
    units) per item and second, under 3,000 (``flaky-sharded`` reads eventually consistent: half of that)."""
    callee = "flaky-sharded"
    shards = breaker.engine.deployment().read_shards(callee)
    assert shards == 4
    items = [callee] + [f"{callee}@{shard}" for shard in range(1, shards)]
    for item in items:
        breaker.engine.throughput.consume(breaker.table, item, "read", 10_000 / shards)
    outcomes = [breaker.call(callee, {"order": n}) for n in range(2 * shards)]
    assert all(o.status == "SUCCEEDED" and "Call anyway?" not in o.states for o in outcomes)
    assert breaker.engine.throughput.refusals == []
