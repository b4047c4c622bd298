"""Every branch of the state machine (DESIGN.md sections 3 and 4), executed on the local engine.

Circuit states are set up by writing the table item directly, exactly as the data model describes
it; the engine runs waits at once and records them (the recorded waits are checked instead), and
interleavings with other writers are made deterministic with the engine's wait gates and request
hooks, so these tests take seconds, not minutes.
"""

from __future__ import annotations

import concurrent.futures
import threading

from tests.conftest import Breaker

FAIL = {"fail": True}
OK = {"fail": False}

#: The states of one failed attempt that is counted and followed by another attempt.
RETRY_LOOP = ["Call callee", "Is it an answer?", "Count failure", "Threshold reached?", "Try again?", "Back off", "Get circuit", "Check circuit"]


def test_a_failing_callee_is_retried_by_the_workflow_with_backoff(breaker: Breaker) -> None:
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["attempts"] == 4 and outcome.cause["counted"] is True
    assert breaker.invocations("Flaky") - before == 4  # MaxAttempts 3 retries after the first call (cdk.json)
    assert outcome.states[:3] == ["Check input", "Get circuit", "Check circuit"]
    assert outcome.states[3:] == RETRY_LOOP * 3 + [
        "Call callee", "Is it an answer?", "Count failure", "Threshold reached?", "Try again?", "Describe failure", "Fall back?",
        "Callee failed",
    ]
    waits = breaker.engine.clock.waits(outcome.arn, kind="wait")
    # interval 1 s, backoff rate 2, capped at 8 s; full jitter: a whole number of seconds from 0 to the cap
    assert [w["state"] for w in waits] == ["Back off"] * 3
    assert all(isinstance(w["seconds"], int) and 0 <= w["seconds"] <= cap for w, cap in zip(waits, [1, 2, 4]))


def test_full_jitter_spreads_the_waits(breaker: Breaker) -> None:
    waits = []
    for _ in range(12):
        waits.append([w["seconds"] for w in breaker.engine.clock.waits(breaker.call("flaky", FAIL).arn, kind="wait")])
        breaker.clear()
    first, third = {w[0] for w in waits}, {w[2] for w in waits}
    assert first <= {0, 1} and third <= {0, 1, 2, 3, 4} and len(third) >= 2


def test_every_failed_attempt_is_counted_once(breaker: Breaker) -> None:
    first = breaker.call("flaky", FAIL)  # threshold 5: four attempts do not open
    assert first.cause["circuitOpened"] is False
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "CLOSED" and item["Failures"] == 4
    assert item["ExpiryTimeStamp"] == item["WindowEndsAt"] and 58 <= item["WindowEndsAt"] - breaker.now() <= 61
    assert item["LastError"].startswith("FlakyError: ") and item["LastExecutionArn"] == first.arn
    assert item["Version"] == 4  # every write of the workflow bumps the item's version


def test_each_attempt_is_limited_by_the_callee_timeout(breaker: Breaker) -> None:
    outcome = breaker.call("flaky-slow", {"sleep_seconds": 3})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "States.Timeout" and outcome.cause["counted"] is True
    assert outcome.cause["attempts"] == 4
    assert outcome.seconds < 4 * 3  # four attempts cut at 1 s each, not left to run 3 s


def test_the_attempt_that_reaches_the_threshold_opens_the_circuit_and_stops(breaker: Breaker) -> None:
    breaker.call("flaky", FAIL)  # 4 failed attempts
    before = breaker.invocations("Flaky")
    second = breaker.call("flaky", FAIL)
    assert second.cause["circuitOpened"] is True and second.cause["attempts"] == 1
    assert breaker.invocations("Flaky") - before == 1
    assert second.states[-6:] == ["Open circuit", "Update read shards?", "Announce opened", "Describe failure", "Fall back?", "Callee failed"]
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "OPEN" and 29 <= item["OpenUntil"] - breaker.now() <= 31  # break_seconds 30
    assert item["ExpiryTimeStamp"] == item["OpenUntil"] + 300  # outlives the break by max_break_seconds
    assert item["ConsecutiveOpens"] == 1 and "Failures" not in item and "WindowEndsAt" not in item
    assert breaker.call("flaky", OK).error == "CircuitBreaker.CircuitOpen"


def test_a_circuit_opened_by_another_execution_during_the_backoff_stops_the_retries(breaker: Breaker) -> None:
    gate = breaker.engine.clock.gate("Back off")
    before = breaker.invocations("Flaky")
    arn = breaker.start({"callee": "flaky", "payload": FAIL})
    assert gate.reached.wait(10)
    open_until = int(breaker.now()) + 60
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300, ConsecutiveOpens=1)
    gate.release()
    outcome = breaker.finish(arn)
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.cause == {"callee": "flaky", "state": "OPEN", "retryAfter": open_until, "attempts": 1}
    assert breaker.invocations("Flaky") - before == 1  # no call after the circuit opened


def test_an_isolation_during_the_backoff_stops_the_retries(breaker: Breaker) -> None:
    gate = breaker.engine.clock.gate("Back off")
    before = breaker.invocations("Flaky")
    arn = breaker.start({"callee": "flaky", "payload": FAIL})
    assert gate.reached.wait(10)
    breaker.put_item("flaky", CircuitStatus="ISOLATED", Reason="incident 7", IsolatedBy="ops")
    gate.release()
    outcome = breaker.finish(arn)
    assert outcome.error == "CircuitBreaker.CircuitIsolated"
    assert outcome.cause == {"callee": "flaky", "reason": "incident 7", "retryAfter": None, "attempts": 1}
    assert breaker.invocations("Flaky") - before == 1


def test_a_callee_retry_policy_overrides_the_breaker_wide_one(breaker: Breaker) -> None:
    outcome = breaker.call("flaky-once", FAIL)  # max_attempts 1, interval 2 s, no jitter
    assert outcome.cause["attempts"] == 2
    assert [w["seconds"] for w in breaker.engine.clock.waits(outcome.arn, kind="wait")] == [2]


def test_no_attempt_starts_that_could_not_finish_before_the_deadline(breaker: Breaker) -> None:
    # timeout 1 s, deadline 4 s, waits 1 then 2 s (no jitter): after two attempts (about 2 s) a third
    # could end only at 2 + 2 + 1 = 5 s, past the deadline.
    outcome = breaker.call("flaky-deadline", {"sleep_seconds": 1.5})
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["error"] == "States.Timeout"
    assert outcome.cause["attempts"] == 2


def test_an_error_the_callee_declares_an_answer_is_not_retried_nor_counted(breaker: Breaker) -> None:
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky-answers", {"fail": True, "error": "CardDeclined", "message": "insufficient funds"})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["counted"] is False and outcome.cause["attempts"] == 1
    assert outcome.cause["error"] == "CardDeclined" and "insufficient funds" in outcome.cause["cause"]
    assert breaker.invocations("Flaky") - before == 1
    assert breaker.item("flaky-answers") is None  # no write: the circuit never hears of it
    assert outcome.states[-4:] == ["Is it an answer?", "Describe failure", "Fall back?", "Callee failed"]
    # an error not in the list still counts (threshold 1 opens at once)
    assert breaker.call("flaky-answers", FAIL).cause["circuitOpened"] is True


def test_a_breakers_error_relayed_by_a_callee_is_not_retried_nor_counted(breaker: Breaker) -> None:
    for name in ("CircuitOpenError", "RecursionLimitExceededError"):
        outcome = breaker.call("flaky-strict", {"fail": True, "error": name})
        assert outcome.cause["counted"] is False and outcome.cause["attempts"] == 1 and outcome.cause["error"] == name
    assert breaker.item("flaky-strict") is None


def test_a_failure_after_the_window_starts_a_new_one(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-window", CircuitStatus="CLOSED", Failures=1, WindowEndsAt=ended, ExpiryTimeStamp=ended + 100)
    outcome = breaker.call("flaky-window", FAIL)  # threshold 2: the window's old failure does not count
    assert "Start failure window" in outcome.states
    assert outcome.cause["circuitOpened"] is True and outcome.cause["attempts"] == 2


def test_an_in_flight_failure_does_not_move_an_open_circuit(breaker: Breaker) -> None:
    started = breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 0.5}})
    breaker.wait_until_in(started, "Call callee")  # it read a closed circuit and is now inside the callee
    open_until = int(breaker.now()) + 50
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300, ConsecutiveOpens=1)
    outcome = breaker.finish(started)
    assert outcome.error == "CircuitBreaker.CircuitOpen" and outcome.cause["attempts"] == 1
    item = breaker.item("flaky")
    assert item["OpenUntil"] == open_until and item["ExpiryTimeStamp"] == open_until + 300
    assert item["CircuitStatus"] == "OPEN" and "Failures" not in item


def test_racing_failures_open_the_circuit_exactly_once(breaker: Breaker) -> None:
    live = int(breaker.now()) + 30
    breaker.put_item("flaky", CircuitStatus="CLOSED", Failures=4, WindowEndsAt=live, ExpiryTimeStamp=live)
    arns = [breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 1.5}}) for _ in range(10)]
    for arn in arns:  # all of them read the closed circuit before any fails
        breaker.wait_until_in(arn, "Call callee")
    outcomes = [breaker.finish(arn) for arn in arns]
    opener = [o for o in outcomes if o.error == "CircuitBreaker.CalleeFailed" and o.cause["circuitOpened"]]
    assert len(opener) == 1
    assert all(o.error in {"CircuitBreaker.CalleeFailed", "CircuitBreaker.CircuitOpen"} for o in outcomes)
    assert sum(o.cause["attempts"] for o in outcomes) == 10  # nobody retried into the open circuit
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "OPEN" and item["LastExecutionArn"] == opener[0].arn


def test_an_operators_isolation_is_never_overwritten(breaker: Breaker) -> None:
    started = breaker.start({"callee": "flaky-strict", "payload": {"fail": True, "sleep_seconds": 0.5}})
    breaker.wait_until_in(started, "Call callee")
    breaker.put_item("flaky-strict", CircuitStatus="ISOLATED", Reason="incident 42", IsolatedBy="ops")
    outcome = breaker.finish(started)
    assert outcome.error == "CircuitBreaker.CircuitIsolated"
    assert breaker.item("flaky-strict") == {
        "ServiceName": "flaky-strict", "CircuitStatus": "ISOLATED", "Reason": "incident 42", "IsolatedBy": "ops"
    }


def test_a_reset_between_counting_and_opening_is_not_undone(breaker: Breaker) -> None:
    live = int(breaker.now()) + 30
    breaker.put_item("flaky-window", CircuitStatus="CLOSED", Failures=1, WindowEndsAt=live, ExpiryTimeStamp=live, Version=3)

    def operator_resets() -> None:
        breaker.put_item("flaky-window", CircuitStatus="CLOSED", ResetBy="ops", Version=5)

    # The first UpdateItem (Count failure) reaches the threshold; the reset lands just before the second (Open circuit).
    breaker.engine.faults.run_before("dynamodb", "UpdateItem", operator_resets, skip=1)
    gate = breaker.engine.clock.gate("Back off")
    arn = breaker.start({"callee": "flaky-window", "payload": FAIL})
    assert gate.reached.wait(10)
    item = breaker.item("flaky-window")
    gate.release()
    outcome = breaker.finish(arn)
    assert item == {"ServiceName": "flaky-window", "CircuitStatus": "CLOSED", "ResetBy": "ops", "Version": 5}
    first_attempt = outcome.states[3 : outcome.states.index("Back off")]
    assert first_attempt[-3:] == ["Threshold reached?", "Open circuit", "Try again?"]


def test_after_the_break_one_probe_closes_the_circuit(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky", {"probe": 1})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"probe": 1}
    assert outcome.states == [
        "Check input", "Get circuit", "Check circuit", "Take probe lease", "Call probe", "Enough probes?", "Close circuit",
        "Update read shards?", "Announce closed", "Probe outcome?", "Probe succeeded",
    ]
    assert breaker.invocations("Flaky") - before == 1
    assert_closed(breaker, "flaky")


def assert_closed(breaker: Breaker, callee: str) -> None:
    """A probe's success resets the item to a bare CLOSED record (its version kept for operators' writes)."""
    item = breaker.item(callee)
    assert item is not None and item["CircuitStatus"] == "CLOSED"
    assert not {"OpenUntil", "ProbeLeaseUntil", "ConsecutiveOpens", "Failures", "WindowEndsAt"} & set(item)
    assert item["Version"] >= 2 and 290 <= item["ExpiryTimeStamp"] - breaker.now() <= 301
    assert breaker.call(callee, {"healthy": True}).states[-1] == "Call callee"  # and the next call goes through


def test_a_probe_answered_with_an_ignored_error_closes_the_circuit(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-answers", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=2)
    outcome = breaker.call("flaky-answers", {"fail": True, "error": "ValidationError"})
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["counted"] is False
    assert_closed(breaker, "flaky-answers")  # the callee answered: it is up


def test_a_failed_probe_reopens_with_a_doubled_break(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky-strict", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["circuitOpened"] is True
    assert outcome.cause["attempts"] == 1
    assert breaker.invocations("Flaky") - before == 1  # a probe is not retried
    assert "Reopen circuit" in outcome.states
    item = breaker.item("flaky-strict")
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 2
    assert 3 <= item["OpenUntil"] - breaker.now() <= 5  # break_seconds 2 x 2^1
    assert item["ExpiryTimeStamp"] == item["OpenUntil"] + 8
    assert "ProbeLeaseUntil" not in item


def test_the_doubling_break_is_capped_and_its_exponent_too(breaker: Breaker) -> None:
    for opens, stored in ((3, 4), (5000, 65)):  # 2^5000 overflows a double: the exponent is capped
        ended = int(breaker.now()) - 1
        breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=opens)
        outcome = breaker.call("flaky-strict", FAIL)
        assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["circuitOpened"] is True
        item = breaker.item("flaky-strict")
        assert item["ConsecutiveOpens"] == stored
        assert 7 <= item["OpenUntil"] - breaker.now() <= 9  # capped at max_break_seconds 8


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
    assert_closed(breaker, "flaky")


def test_a_probe_in_flight_makes_others_fail_fast_until_its_lease_ends(breaker: Breaker) -> None:
    lease = int(breaker.now()) + 10
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=lease, ExpiryTimeStamp=lease + 300, ConsecutiveOpens=1)
    outcome = breaker.call("flaky", OK)
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.cause == {"callee": "flaky", "state": "HALF_OPEN", "retryAfter": lease, "attempts": 0}


def test_the_lease_of_a_dead_probe_can_be_taken_again(breaker: Breaker) -> None:
    expired = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=expired, ExpiryTimeStamp=expired + 300, ConsecutiveOpens=2)
    outcome = breaker.call("flaky", {"again": True})
    assert outcome.status == "SUCCEEDED" and "Take probe lease" in outcome.states
    assert_closed(breaker, "flaky")


def test_an_expired_but_undeleted_item_counts_as_absent(breaker: Breaker) -> None:
    now = int(breaker.now())
    # DynamoDB may keep an expired item for days; its OpenUntil must not be believed.
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=now + 100, ExpiryTimeStamp=now - 1, ConsecutiveOpens=1)
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="over", ExpiryTimeStamp=now - 1)
    assert breaker.call("flaky", {"v": 1}).output == {"v": 1}
    assert breaker.call("echo", {"v": 2}).output == {"v": 2}
    # a failure replaces the stale record with a fresh window (and the other attempts count in it)
    breaker.call("flaky", FAIL)
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "CLOSED" and item["Failures"] == 4 and "OpenUntil" not in item


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


def test_a_break_or_lease_longer_than_the_workflow_writes_counts_as_over(breaker: Breaker) -> None:
    far = 9_999_999_999
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=far, ExpiryTimeStamp=far + 300, ConsecutiveOpens=1)
    opened = breaker.call("flaky", {"v": 1})
    assert opened.status == "SUCCEEDED" and "Call probe" in opened.states
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=far, ExpiryTimeStamp=far, ConsecutiveOpens=1)
    leased = breaker.call("flaky", {"v": 2})
    assert leased.status == "SUCCEEDED" and "Call probe" in leased.states


def test_a_number_with_more_than_38_digits_written_with_trailing_zeros_does_not_break_a_call(breaker: Breaker) -> None:
    # 1e38 has one significant digit: DynamoDB holds it, and its projected GetItem (Get circuit) answers it
    huge = 10**38
    breaker.put_item("echo", CircuitStatus="CLOSED", ConsecutiveOpens=huge, Junk=-huge, ExpiryTimeStamp=int(breaker.now()) + 100)
    outcome = breaker.call("echo", {"v": 1})
    assert outcome.output == {"v": 1}
    assert outcome.states == ["Check input", "Get circuit", "Check circuit", "Call callee"]
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=int(breaker.now()) + 100, ExpiryTimeStamp=10**120, ConsecutiveOpens=huge)
    assert breaker.call("flaky", OK).error == "CircuitBreaker.CircuitOpen"


def test_an_oversized_item_does_not_block_calls(breaker: Breaker) -> None:
    # 390 KB in one attribute: reading the whole item would exceed the 256 KiB a state may hold.
    open_until = int(breaker.now()) + 100
    breaker.put_item("echo", CircuitStatus="CLOSED", Junk="j" * 390_000, ExpiryTimeStamp=open_until)
    assert breaker.call("echo", {"v": 1}).output == {"v": 1}
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300, LastError="e" * 390_000)
    assert breaker.call("flaky", OK).error == "CircuitBreaker.CircuitOpen"
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="r" * 390_000)
    isolated = breaker.call("echo")
    assert isolated.error == "CircuitBreaker.CircuitIsolated" and "could not be read" in isolated.cause["reason"]


def test_a_retry_that_finds_the_break_over_probes_and_keeps_counting_its_attempts(breaker: Breaker) -> None:
    gate = breaker.engine.clock.gate("Back off")
    arn = breaker.start({"callee": "flaky", "payload": FAIL})
    assert gate.reached.wait(10)
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    gate.release()
    outcome = breaker.finish(arn)
    assert "Call probe" in outcome.states and "Reopen circuit" in outcome.states
    assert outcome.cause["attempts"] == 2 and outcome.cause["circuitOpened"] is True
