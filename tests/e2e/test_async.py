"""An asynchronous call that gets no answer waits in the dead-letter queue, and ``breaker redrive`` re-submits it.

``flaky`` fails while its clock is inside ``fail_between``: the call fails now (``flaky-async`` has no retries),
and its redrive, once the window has passed, succeeds with the same input and idempotency key.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable

import pytest

from tests.e2e.target import LOG_DELIVERY_SECONDS, Target, eventually, sleep_until

pytestmark = pytest.mark.e2e

#: Seconds the callee keeps failing after the call starts: time for the call to fail and be dead-lettered.
OUTAGE_SECONDS = 8


def peek(target: Target, key: str) -> dict[str, Any] | None:
    """The dead-letter message of the call with idempotency key ``key``, left visible for the redrive."""
    queue = target.outputs["DeadLetterQueueUrl"]
    answer = target.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        body = json.loads(message["Body"])
        if body.get("idempotencyKey") == key:
            return body
    return None


def test_an_async_call_that_fails_lands_in_the_dead_letter_queue_and_is_redriven(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky-async")
    key = f"e2e-{uuid.uuid4()}"
    heals_at = int(time.time()) + OUTAGE_SECONDS  # whole seconds: the payload travels through JSONata unchanged
    payload = {"fail_between": [heals_at - 3600, heals_at]}

    started = target.cli_json("call", callee, "--async", "--idempotency-key", key, "--payload", json.dumps(payload))
    assert (started["status"], started["idempotencyKey"]) == ("STARTED", key)

    message = eventually(lambda: peek(target, key), LOG_DELIVERY_SECONDS, f"no dead-letter message for {key}")
    assert (message["callee"], message["error"], message["executionArn"]) == (callee, "CircuitBreaker.CalleeFailed", started["executionArn"])
    assert message["input"] == {"callee": callee, "payload": payload, "idempotencyKey": key}
    failed = target.execution_log(started["executionArn"])
    assert "Send to dead-letter queue" in failed.states

    sleep_until(heals_at + 1.5)
    report = target.cli_json("redrive", callee)

    ours = [m for m in report["messages"] if m["idempotencyKey"] == key]
    assert [m["action"] for m in ours] == ["resubmitted"], report
    redriven = target.execution_log(ours[0]["executionArn"])
    assert redriven.terminal["type"] == "ExecutionSucceeded"
    assert json.loads(redriven.terminal["details"]["output"]) == payload
    assert json.loads(redriven.records[0]["details"]["input"]) == message["input"]
    assert peek(target, key) is None
