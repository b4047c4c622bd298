"""Every branch of the state machine (DESIGN.md sections 3 and 4), executed on the local engine.

Circuit states are set up by writing the table item directly, exactly as the data model describes
it; the engine runs Retry waits at once (the recorded waits are checked instead), so these tests
take seconds, not minutes.
"""

from __future__ import annotations

import concurrent.futures
import threading

from tests.conftest import Breaker

FAIL = {"fail": True}
OK = {"fail": False}


def test_callee_is_retried_with_the_configured_backoff(breaker: Breaker) -> None:
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    # MaxAttempts 3 retries after the first call (cdk.json's retry policy)
    assert breaker.invocations("Flaky") - before == 4
    call = outcome.path.visits[3]
    assert call.name == "Call callee" and call.attempts == 4 and call.errors == ["FlakyError"] * 4
    waits = breaker.engine.clock.waits(outcome.arn)
    # interval 1 s, backoff rate 2, capped at 8 s; full jitter waits anywhere up to that
    assert [w["nominal"] for w in waits] == [1.0, 2.0, 4.0]
    assert all(0 <= w["seconds"] <= w["nominal"] for w in waits)
    assert all(w["state"] == "Call callee" for w in waits)


def test_each_attempt_is_limited_by_the_callee_timeout(breaker: Breaker) -> None:
    outcome = breaker.call("flaky-slow", {"sleep_seconds": 3})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "States.Timeout"
    assert outcome.path.visits[3].errors == ["States.Timeout"] * 4
    assert outcome.seconds < 4 * 3  # four attempts cut at 1 s each, not left to run 3 s


def test_failures_below_the_threshold_are_counted_in_a_window(breaker: Breaker) -> None:
    first = breaker.call("flaky", FAIL)
    assert first.cause["circuitOpened"] is False
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "CLOSED" and item["Failures"] == 1
    assert item["ExpiryTimeStamp"] == item["WindowEndsAt"]
    assert 58 <= item["WindowEndsAt"] - breaker.now() <= 61
    assert item["LastError"].startswith("FlakyError: ")
    assert item["LastExecutionArn"] == first.arn
    # the first failure creates the window in a single conditional write
    assert first.states[3:] == ["Call callee", "Count failure", "Threshold reached?", "Callee failed"]
    breaker.call("flaky", FAIL)
    assert breaker.item("flaky")["Failures"] == 2


def test_the_failure_that_reaches_the_threshold_opens_the_circuit(breaker: Breaker) -> None:
    for _ in range(2):
        assert breaker.call("flaky", FAIL).cause["circuitOpened"] is False
    third = breaker.call("flaky", FAIL)
    assert third.cause["circuitOpened"] is True
    assert "Open circuit" in third.states
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "OPEN"
    assert 29 <= item["OpenUntil"] - breaker.now() <= 31  # break_seconds 30
    assert item["ExpiryTimeStamp"] == item["OpenUntil"] + 300  # outlives the break by max_break_seconds
    assert item["ConsecutiveOpens"] == 1
    assert "Failures" not in item and "WindowEndsAt" not in item
    # and the next call fails fast
    assert breaker.call("flaky", OK).error == "CircuitBreaker.CircuitOpen"


def test_a_failure_after_the_window_starts_a_new_one(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-window", CircuitStatus="CLOSED", Failures=1, WindowEndsAt=ended, ExpiryTimeStamp=ended + 100)
    outcome = breaker.call("flaky-window", FAIL)  # threshold 2, but the first failure is outside the window
    assert outcome.cause["circuitOpened"] is False
    assert "Start failure window" in outcome.states
    item = breaker.item("flaky-window")
    assert item["Failures"] == 1 and item["WindowEndsAt"] > breaker.now() + 25
    assert breaker.call("flaky-window", FAIL).cause["circuitOpened"] is True


def test_a_failure_inside_the_window_counts_towards_the_threshold(breaker: Breaker) -> None:
    live = int(breaker.now()) + 20
    breaker.put_item("flaky-window", CircuitStatus="CLOSED", Failures=1, WindowEndsAt=live, ExpiryTimeStamp=live)
    assert breaker.call("flaky-window", FAIL).cause["circuitOpened"] is True
    assert breaker.item("flaky-window")["CircuitStatus"] == "OPEN"


def test_an_in_flight_failure_does_not_move_an_open_circuit(breaker: Breaker) -> None:
    started = breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 0.5}})
    breaker.wait_until_in(started, "Call callee")  # it read a closed circuit and is now inside the callee
    open_until = int(breaker.now()) + 50
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300, ConsecutiveOpens=1)
    outcome = breaker.finish(started)
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["circuitOpened"] is False
    item = breaker.item("flaky")
    assert item["OpenUntil"] == open_until and item["ExpiryTimeStamp"] == open_until + 300
    assert item["CircuitStatus"] == "OPEN" and "Failures" not in item


def test_racing_failures_open_the_circuit_exactly_once(breaker: Breaker) -> None:
    live = int(breaker.now()) + 30
    breaker.put_item("flaky", CircuitStatus="CLOSED", Failures=2, WindowEndsAt=live, ExpiryTimeStamp=live)
    arns = [breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 0.3}}) for _ in range(10)]
    for arn in arns:  # all of them read the closed circuit before any fails
        breaker.wait_until_in(arn, "Call callee")
    outcomes = [breaker.finish(arn) for arn in arns]
    assert all(o.error == "CircuitBreaker.CalleeFailed" for o in outcomes)
    assert sum(o.cause["circuitOpened"] for o in outcomes) == 1
    opener = next(o for o in outcomes if o.cause["circuitOpened"])
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "OPEN" and item["LastExecutionArn"] == opener.arn


def test_an_operators_isolation_is_never_overwritten(breaker: Breaker) -> None:
    started = breaker.start({"callee": "flaky-strict", "payload": {"fail": True, "sleep_seconds": 0.5}})
    breaker.wait_until_in(started, "Call callee")
    breaker.put_item("flaky-strict", CircuitStatus="ISOLATED", Reason="incident 42", IsolatedBy="ops")
    outcome = breaker.finish(started)
    assert outcome.cause["circuitOpened"] is False
    assert breaker.item("flaky-strict") == {
        "ServiceName": "flaky-strict", "CircuitStatus": "ISOLATED", "Reason": "incident 42", "IsolatedBy": "ops"
    }


def test_after_the_break_one_probe_closes_the_circuit(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky", {"probe": 1})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"probe": 1}
    assert outcome.states == [
        "Check input", "Get circuit", "Check circuit", "Take probe lease", "Call probe", "Close circuit", "Announce closed"
    ]
    assert breaker.invocations("Flaky") - before == 1
    assert breaker.item("flaky") is None


def test_a_failed_probe_reopens_with_a_doubled_break(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky-strict", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["circuitOpened"] is True
    assert breaker.invocations("Flaky") - before == 1  # a probe is not retried
    assert "Reopen circuit" in outcome.states
    item = breaker.item("flaky-strict")
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 2
    assert 3 <= item["OpenUntil"] - breaker.now() <= 5  # break_seconds 2 x 2^1
    assert item["ExpiryTimeStamp"] == item["OpenUntil"] + 8
    assert "ProbeLeaseUntil" not in item


def test_the_doubling_break_is_capped(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=3)
    breaker.call("flaky-strict", FAIL)
    item = breaker.item("flaky-strict")
    assert item["ConsecutiveOpens"] == 4
    assert 7 <= item["OpenUntil"] - breaker.now() <= 9  # 2 x 2^3 = 16, capped at max_break_seconds 8


def test_exactly_one_of_many_concurrent_callers_probes(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    barrier = threading.Barrier(12)

    def caller() -> str:
        barrier.wait()
        return breaker.start({"callee": "flaky", "payload": {"sleep_seconds": 2}})

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        arns = list(pool.map(lambda _: caller(), range(12)))
    outcomes = [breaker.finish(arn) for arn in arns]
    probes = [o for o in outcomes if "Call probe" in o.states]
    assert len(probes) == 1 and probes[0].status == "SUCCEEDED"
    others = [o for o in outcomes if o is not probes[0]]
    assert all(o.error == "CircuitBreaker.CircuitOpen" for o in others)
    assert {o.cause["state"] for o in others} <= {"OPEN", "HALF_OPEN"}
    assert all(o.cause["retryAfter"] >= breaker.now() - 30 for o in others)
    assert breaker.invocations("Flaky") - before == 1
    assert breaker.item("flaky") is None


def test_a_probe_in_flight_makes_others_fail_fast_until_its_lease_ends(breaker: Breaker) -> None:
    lease = int(breaker.now()) + 40
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=lease, ExpiryTimeStamp=lease + 300, ConsecutiveOpens=1)
    outcome = breaker.call("flaky", OK)
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.cause == {"callee": "flaky", "state": "HALF_OPEN", "retryAfter": lease}


def test_the_lease_of_a_dead_probe_can_be_taken_again(breaker: Breaker) -> None:
    expired = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=expired, ExpiryTimeStamp=expired + 300, ConsecutiveOpens=2)
    outcome = breaker.call("flaky", {"again": True})
    assert outcome.status == "SUCCEEDED" and "Take probe lease" in outcome.states
    assert breaker.item("flaky") is None


def test_an_expired_but_undeleted_item_counts_as_absent(breaker: Breaker) -> None:
    now = int(breaker.now())
    # DynamoDB may keep an expired item for days; its OpenUntil must not be believed.
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=now + 100, ExpiryTimeStamp=now - 1, ConsecutiveOpens=1)
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="over", ExpiryTimeStamp=now - 1)
    assert breaker.call("flaky", {"v": 1}).output == {"v": 1}
    assert breaker.call("echo", {"v": 2}).output == {"v": 2}
    # a failure replaces the stale record with a fresh window
    breaker.call("flaky", FAIL)
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "CLOSED" and item["Failures"] == 1 and "OpenUntil" not in item


def test_a_malformed_item_cannot_hold_the_circuit_open(breaker: Breaker) -> None:
    breaker.put_item("flaky", CircuitStatus="OPEN")  # no OpenUntil, no expiry
    outcome = breaker.call("flaky", {"v": 1})
    assert outcome.status == "SUCCEEDED" and "Take probe lease" in outcome.states
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil="not a number")
    assert breaker.call("flaky", {"v": 2}).status == "SUCCEEDED"
    breaker.put_item("flaky", CircuitStatus="GARBAGE", Failures="x")
    assert breaker.call("flaky", {"v": 3}).status == "SUCCEEDED"
    breaker.call("flaky", FAIL)
    assert breaker.item("flaky")["CircuitStatus"] == "CLOSED"


def test_the_table_read_failing_fails_open_by_default(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")
    outcome = breaker.call("echo", {"still": "served"})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"still": "served"}
    assert outcome.states == ["Check input", "Get circuit", "Call anyway?", "Call callee"]
    assert outcome.path.visits[1].attempts == 3  # the read is retried before failing open


def test_a_passing_throttle_is_retried_without_failing_open(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", "ThrottlingException", times=1)
    open_until = int(breaker.now()) + 60
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300)
    outcome = breaker.call("flaky", OK)
    assert outcome.error == "CircuitBreaker.CircuitOpen"  # the second read saw the open circuit


def test_errors_other_than_the_tables_are_not_failed_open(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", "ValidationException")
    outcome = breaker.call("echo", {"a": 1})
    assert outcome.status == "FAILED" and outcome.error == "DynamoDB.ValidationException"
    assert "Call callee" not in outcome.states


def test_a_failed_write_never_loses_the_callee_result(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    breaker.engine.faults.inject("dynamodb", "DeleteItem", "InternalServerError", status=500)
    outcome = breaker.call("flaky", {"answer": 42})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"answer": 42}
    assert outcome.states[-1] == "Probe succeeded"


def test_a_failed_failure_write_still_reports_the_callee_error(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException")
    outcome = breaker.call("flaky", {"fail": True, "message": "boom"})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "FlakyError" and "boom" in outcome.cause["cause"]
    assert outcome.cause["circuitOpened"] is False
