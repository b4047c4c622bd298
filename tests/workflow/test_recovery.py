"""Recovering gradually: several probes in a row before closing, then a ramp of traffic; and observe mode.

``flaky-recovery`` closes after 3 consecutive successful probes (one at a time), then lets a growing share of calls
through over 100 s (10% at first, all of them at the end); ``flaky-observe`` records what it would do but always
calls the callee.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Breaker

CALLEE = "flaky-recovery"
FAIL = {"fail": True}


def broken(breaker: Breaker, callee: str = CALLEE, opens: int = 1) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item(callee, CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=opens, Version=1)


def test_the_circuit_closes_after_three_successful_probes_in_a_row(breaker: Breaker, transitions) -> None:
    broken(breaker)
    for successes in (1, 2):
        outcome = breaker.call(CALLEE, {"probe": successes})
        announced = ["Announce probing"] if successes == 1 else []  # the first probe left OPEN: that is a change
        assert outcome.status == "SUCCEEDED"
        assert outcome.states[5:] == ["Enough probes?", "Count probe success", "Announce probing?", *announced, "Probe outcome?", "Probe succeeded"]
        item = breaker.item(CALLEE)
        assert item["CircuitStatus"] == "HALF_OPEN" and item["ProbeSuccesses"] == successes
        assert item["ProbeLeaseUntil"] <= breaker.now() + 1  # released: the next call probes at once
    third = breaker.call(CALLEE, {"probe": 3})
    assert "Close circuit" in third.states
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "CLOSED" and "ProbeSuccesses" not in item and abs(item["ClosedAt"] - breaker.now()) < 5
    changes = [(e["detail"]["from"], e["detail"]["to"]) for e in transitions.drain()]
    assert changes == [("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]


def test_a_failed_probe_among_them_reopens_with_a_doubled_break(breaker: Breaker) -> None:
    broken(breaker, opens=1)
    assert breaker.call(CALLEE, {"probe": 1}).status == "SUCCEEDED"
    failed = breaker.call(CALLEE, FAIL)
    assert failed.error == "CircuitBreaker.CalleeFailed" and "Reopen circuit" in failed.states
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 2 and "ProbeSuccesses" not in item
    assert 3 <= item["OpenUntil"] - breaker.now() <= 5  # break_seconds 2 doubled


def test_two_probes_never_run_at_once(breaker: Breaker) -> None:
    """Forced interleaving: the second probe of three is held inside the callee while others call."""
    broken(breaker)
    assert breaker.call(CALLEE, {"probe": 1}).status == "SUCCEEDED"
    reached, release = threading.Event(), threading.Event()
    breaker.engine.faults.run_before("lambda", "Invoke", lambda: (reached.set(), release.wait(20)))
    before = breaker.invocations("Flaky")
    second = breaker.start({"callee": CALLEE, "payload": {"probe": 2}})
    assert reached.wait(20)
    with ThreadPoolExecutor(max_workers=6) as pool:
        others = list(pool.map(lambda _: breaker.call(CALLEE, {"n": 1}), range(8)))
    release.set()
    assert breaker.finish(second).status == "SUCCEEDED"
    assert all(o.error == "CircuitBreaker.CircuitOpen" and o.cause["state"] == "HALF_OPEN" for o in others)
    assert breaker.invocations("Flaky") - before == 1
    assert breaker.item(CALLEE)["ProbeSuccesses"] == 2


def ramp(breaker: Breaker, closed_ago: int) -> tuple[int, list]:
    now = int(breaker.now())
    breaker.put_item(CALLEE, CircuitStatus="CLOSED", ClosedAt=now - closed_ago, ExpiryTimeStamp=now + 300, Version=5)
    outcomes = [breaker.call(CALLEE, {"n": 2}) for _ in range(40)]
    through = sum(1 for o in outcomes if o.status == "SUCCEEDED")
    return through, outcomes


def test_after_closing_the_share_of_calls_let_through_grows_over_the_ramp(breaker: Breaker) -> None:
    early, outcomes = ramp(breaker, closed_ago=0)  # 10% of calls
    assert early <= 12
    rejected = [o for o in outcomes if o.status != "SUCCEEDED"]
    assert all(o.error == "CircuitBreaker.CircuitOpen" and o.cause["state"] == "RAMPING" for o in rejected)
    assert all(o.cause["retryAfter"] - breaker.now() <= 2 and o.cause["attempts"] == 0 for o in rejected)
    middle, _ = ramp(breaker, closed_ago=50)  # 55%
    assert 10 <= middle <= 34
    late, _ = ramp(breaker, closed_ago=101)  # the ramp is over
    assert late == 40
    assert breaker.item(CALLEE)["Version"] == 5  # decided per execution, without a write


def test_a_probe_that_closes_starts_the_ramp(breaker: Breaker) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item(CALLEE, CircuitStatus="HALF_OPEN", OpenUntil=ended - 2, ProbeLeaseUntil=ended, ProbeSuccesses=2,
                     ExpiryTimeStamp=ended + 8, ConsecutiveOpens=1, Version=4)  # fmt: skip
    assert "Close circuit" in breaker.call(CALLEE, {"probe": 3}).states
    rejected = [o for o in (breaker.call(CALLEE, {"n": 3}) for _ in range(20)) if o.status != "SUCCEEDED"]
    assert len(rejected) >= 12  # 10% let through at first


OBSERVED = "flaky-observe"


def test_observe_mode_always_calls_the_callee_and_records_what_it_would_have_done(breaker: Breaker, transitions) -> None:
    opened = breaker.call(OBSERVED, FAIL)
    assert opened.cause["circuitOpened"] is True and breaker.item(OBSERVED)["CircuitStatus"] == "OPEN"
    [event] = [e["detail"] for e in transitions.drain() if e["detail"]["to"] == "OPEN"]
    assert event["observed"] is True
    before = breaker.invocations("Flaky")
    answered = breaker.call(OBSERVED, {"n": 4})
    assert answered.status == "SUCCEEDED" and answered.output == {"n": 4}  # enforce would have failed it fast
    assert breaker.invocations("Flaky") - before == 1
    events = breaker.sfn.get_execution_history(executionArn=answered.arn, maxResults=1000)["events"]
    assigned = {}
    for e in events:
        assigned.update(e.get("stateExitedEventDetails", {}).get("assignedVariables", {}))
    observed = json.loads(assigned["observed"])
    assert observed["wouldFail"] == "CircuitBreaker.CircuitOpen" and observed["state"] == "OPEN"
    assert "observedShortCircuit" in assigned


def test_observe_mode_calls_an_isolated_callee_too(breaker: Breaker) -> None:
    breaker.put_item(OBSERVED, CircuitStatus="ISOLATED", Reason="drill", Version=1)
    outcome = breaker.call(OBSERVED, {"n": 5})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"n": 5}
