"""The rate rule and slow calls, through the real ASL on the engine.

``flaky-rate`` opens when, in a failure window, at least 4 attempts were recorded and half of them failed; an
answer slower than 0.5 s counts as a failed attempt would (and is still returned). Successes are counted only while
a failure window is open, by sampled writes whose weight stands for the calls they were drawn from: at the pace of
these tests (a few calls per second) every success is sampled with weight 1.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Breaker

CALLEE = "flaky-rate"
FAIL = {"fail": True}


def window(breaker: Breaker, failures: int, calls: float, ends_in: int = 30) -> None:
    """A failure window that opened ``60 - ends_in`` s ago with these counts (so its rate of calls is low)."""
    ends = int(breaker.now()) + ends_in
    breaker.put_item(CALLEE, CircuitStatus="CLOSED", Failures=failures, Calls=calls, WindowEndsAt=ends, ExpiryTimeStamp=ends, Version=1)


def test_failures_under_the_minimum_number_of_calls_do_not_open(breaker: Breaker) -> None:
    for expected in (1, 2, 3):
        outcome = breaker.call(CALLEE, FAIL)
        assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["circuitOpened"] is False
        assert breaker.item(CALLEE)["Failures"] == expected and breaker.item(CALLEE)["Calls"] == expected
    fourth = breaker.call(CALLEE, FAIL)
    assert fourth.cause["circuitOpened"] is True  # 4 of 4 recorded attempts failed
    assert breaker.item(CALLEE)["CircuitStatus"] == "OPEN"


def test_no_write_while_no_failure_window_is_open(breaker: Breaker) -> None:
    for _ in range(5):
        assert breaker.call(CALLEE, {"n": 1}).states == ["Check input", "Get circuit", "Check circuit", "Call callee, timed", "Does the answer count?", "Return answer"]
    assert breaker.item(CALLEE) is None


def test_successes_in_an_open_window_dilute_the_rate(breaker: Breaker, transitions) -> None:
    window(breaker, failures=1, calls=1)
    for _ in range(6):
        outcome = breaker.call(CALLEE, {"n": 2})
        assert outcome.status == "SUCCEEDED" and outcome.states[-2:] == ["Count success", "Return answer"]
    assert breaker.item(CALLEE)["Calls"] == 7 and breaker.item(CALLEE)["Failures"] == 1
    opened_at = None
    for failures in range(2, 8):
        if breaker.call(CALLEE, FAIL).cause["circuitOpened"]:
            opened_at = failures
            break
    assert opened_at == 6  # 6 failures of 12 recorded attempts: half (5 of 11 was not)
    [event] = [e["detail"] for e in transitions.drain() if e["detail"]["to"] == "OPEN"]
    assert event["reason"] == "failure rate reached" and event["failures"] == 6 and event["calls"] == 12
    assert event["threshold"] == 0.5 and event["minimumCalls"] == 4


def test_a_low_failure_rate_never_opens(breaker: Breaker) -> None:
    for round_ in range(3):
        breaker.call(CALLEE, FAIL)
        for _ in range(4):
            assert breaker.call(CALLEE, {"n": round_}).status == "SUCCEEDED"
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "CLOSED" and item["Failures"] == 3
    assert item["Calls"] > 3  # the successes' samples (weighted: an estimate of the 12 successes)


def test_many_callers_crossing_the_rate_at_once_open_the_circuit_once(breaker: Breaker, transitions) -> None:
    window(breaker, failures=2, calls=6)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: breaker.call(CALLEE, FAIL), range(8)))
    assert sum(1 for o in outcomes if o.error == "CircuitBreaker.CalleeFailed" and o.cause["circuitOpened"]) == 1
    assert len([e for e in transitions.drain() if e["detail"]["to"] == "OPEN"]) == 1


def test_a_sampled_success_stands_for_the_calls_it_was_drawn_from(breaker: Breaker) -> None:
    """A window with many calls recorded in it a moment ago: the rate of calls is high, so few successes write,
    each with a weight above 1 (about 5 writes a second per circuit, whatever the traffic)."""
    window(breaker, failures=100, calls=100_000, ends_in=59)  # 100,000 calls in the window's first second
    writes = 0
    for _ in range(10):
        outcome = breaker.call(CALLEE, {"n": 3})
        assert outcome.status == "SUCCEEDED"
        writes += "Count success" in outcome.states
    calls = breaker.item(CALLEE)["Calls"]
    assert writes <= 3  # the sampling probability is 5/(100,000/s) each
    assert calls == 100_000 or calls >= 100_000 + 1_000  # each sample weighs thousands of calls


def test_a_slow_answer_is_returned_and_counted_without_a_retry(breaker: Breaker) -> None:
    before = breaker.invocations("Flaky")
    outcome = breaker.call(CALLEE, {"sleep_seconds": 0.7, "n": 4})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"sleep_seconds": 0.7, "n": 4}
    assert outcome.states[3:7] == ["Call callee, timed", "Does the answer count?", "Count failure", "Threshold reached?"]
    assert outcome.states[-2:] == ["Try again?", "Return answer"] and breaker.invocations("Flaky") - before == 1
    item = breaker.item(CALLEE)
    assert item["Failures"] == 1 and item["LastError"].startswith("CircuitBreaker.SlowCall: the callee answered in 0.7")
    assert "slower than slow_call_seconds (0.5 s)" in item["LastError"]


def test_slow_answers_open_the_circuit_and_say_so(breaker: Breaker, transitions) -> None:
    outcomes = [breaker.call(CALLEE, {"sleep_seconds": 0.6}) for _ in range(4)]
    assert all(o.status == "SUCCEEDED" for o in outcomes)  # every slow answer reaches its caller
    assert breaker.item(CALLEE)["CircuitStatus"] == "OPEN"
    [event] = [e["detail"] for e in transitions.drain() if e["detail"]["to"] == "OPEN"]
    assert event["slow"] is True and event["error"] == "CircuitBreaker.SlowCall"
    fast_fail = breaker.call(CALLEE, {"n": 5})
    assert fast_fail.error == "CircuitBreaker.CircuitOpen"


def test_a_fast_answer_is_not_counted(breaker: Breaker) -> None:
    outcome = breaker.call(CALLEE, {"sleep_seconds": 0.1})
    assert outcome.status == "SUCCEEDED" and breaker.item(CALLEE) is None


def test_the_slow_marker_is_logged_for_the_metric(breaker: Breaker) -> None:
    outcome = breaker.call(CALLEE, {"sleep_seconds": 0.6})
    events = breaker.sfn.get_execution_history(executionArn=outcome.arn, maxResults=1000)["events"]
    assigned = [json.dumps(e.get("stateExitedEventDetails", {}).get("assignedVariables", {})) for e in events]
    assert any('"slowCall"' in a for a in assigned)


def test_the_sample_callee_fails_a_share_of_its_invocations_on_request(breaker: Breaker) -> None:
    assert breaker.call("flaky-once", {"fail_ratio": 0}).status == "SUCCEEDED"
    assert breaker.call("flaky-once", {"fail_ratio": 1}).cause["error"] == "FlakyError"
    bad = breaker.call("flaky-once", {"fail_ratio": 2})
    assert bad.cause["error"] == "InvalidPayloadError" and "fail_ratio must be a number from 0 to 1" in bad.cause["cause"]
