"""The circuit's life, end to end, with the sample ``flaky`` failing on request (``{"fail": true}``).

The e2e stack's settings (``circuit_breaker_e2e`` in ``cdk.json``) keep every wait short: retries back off 1 s then
2 s (no jitter), breaks last 2 s and double after a failed probe. Where time has to pass, the test waits for it;
where a circuit has to change by hand, it uses what an operator has: ``breaker isolate`` and ``breaker reset``.
"""

from __future__ import annotations

from typing import Callable

import pytest

from tests.e2e.target import Target, sleep_until

pytestmark = pytest.mark.e2e

FAIL = {"fail": True}
#: The e2e stack's settings the tests rely on (cdk.json, circuit_breaker_e2e).
FLAKY_THRESHOLD = 4
ATTEMPTS = 3  # max_attempts 2: the first attempt and two retries
BACKOFF_SECONDS = [1.0, 2.0]
BREAK_SECONDS = 2
FAST_FAIL_PATH = ["Check input", "Get circuit", "Check circuit", "Circuit open"]
#: Margin over a break's end, for the clocks of this machine and of AWS.
CLOCK_MARGIN_SECONDS = 1.5


def break_of(item: dict) -> int:
    """How long the break of an open circuit item is (OpenUntil rounds the opening moment up to the second)."""
    return item["OpenUntil"] - item["OpenedAt"]


def test_failed_attempts_are_counted_and_retried_with_backoff(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky")

    outcome = target.call(callee, FAIL)

    assert (outcome.status, outcome.error) == ("FAILED", "CircuitBreaker.CalleeFailed")
    assert (outcome.cause["error"], outcome.cause["attempts"]) == ("FlakyError", ATTEMPTS)
    assert (outcome.cause["counted"], outcome.cause["circuitOpened"]) == (True, False)
    log = target.execution_log(outcome.arn)
    assert log.states.count("Call callee") == ATTEMPTS
    assert log.states.count("Count failure") == ATTEMPTS
    waits = log.waits("Back off")
    assert len(waits) == len(BACKOFF_SECONDS), waits
    for waited, planned in zip(waits, BACKOFF_SECONDS):
        assert planned - 0.05 <= waited < planned + 1.0, f"backed off {waits} s, planned {BACKOFF_SECONDS}"
    status = target.cli_json("status", callee)[0]
    assert (status["state"], status["failures"]) == ("CLOSED", ATTEMPTS)
    assert target.item(callee)["Failures"] == ATTEMPTS


def test_the_attempt_that_reaches_the_threshold_opens_the_circuit_then_calls_fail_fast(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky")

    first = target.call(callee, FAIL)
    second = target.call(callee, FAIL)

    assert (first.cause["attempts"], first.cause["circuitOpened"]) == (ATTEMPTS, False)
    assert (second.error, second.cause["attempts"], second.cause["circuitOpened"]) == ("CircuitBreaker.CalleeFailed", FLAKY_THRESHOLD - ATTEMPTS, True)
    item = target.item(callee)
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 1
    assert BREAK_SECONDS <= break_of(item) <= BREAK_SECONDS + 1
    assert "Open circuit" in target.execution_log(second.arn).states

    fast = target.call(callee, {"fail": False})
    assert (fast.status, fast.error) == ("FAILED", "CircuitBreaker.CircuitOpen")
    assert (fast.cause["state"], fast.cause["attempts"], fast.cause["retryAfter"]) == ("OPEN", 0, item["OpenUntil"])
    assert target.execution_log(fast.arn).states == FAST_FAIL_PATH
    status = target.cli_json("status", callee)[0]
    assert (status["state"], status["retry_after"]) == ("OPEN", item["OpenUntil"])


def test_after_the_break_one_probe_that_succeeds_closes_the_circuit(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky-probe")  # failure_threshold 1, no retries
    opened = target.call(callee, FAIL)
    assert opened.cause["circuitOpened"] is True
    open_until = target.item(callee)["OpenUntil"]
    assert target.call(callee, {"early": True}).error == "CircuitBreaker.CircuitOpen"

    sleep_until(open_until + CLOCK_MARGIN_SECONDS)
    probe = target.call(callee, {"probe": 1})

    assert (probe.status, probe.output) == ("SUCCEEDED", {"probe": 1})
    states = target.execution_log(probe.arn).states
    assert ["Take probe lease", "Call probe", "Close circuit"] == [s for s in states if s in ("Take probe lease", "Call probe", "Close circuit")]
    assert "Call callee" not in states
    assert target.cli_json("status", callee)[0]["state"] == "CLOSED"
    after = target.call(callee, {"after": 1})
    assert after.output == {"after": 1}
    assert target.execution_log(after.arn).states == ["Check input", "Get circuit", "Check circuit", "Call callee"]


def test_a_probe_that_fails_reopens_the_circuit_for_twice_as_long(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky-probe")
    target.call(callee, FAIL)
    first = target.item(callee)
    assert BREAK_SECONDS <= break_of(first) <= BREAK_SECONDS + 1

    sleep_until(first["OpenUntil"] + CLOCK_MARGIN_SECONDS)
    probe = target.call(callee, FAIL)

    assert (probe.status, probe.error) == ("FAILED", "CircuitBreaker.CalleeFailed")
    assert (probe.cause["attempts"], probe.cause["circuitOpened"]) == (1, True)
    assert {"Call probe", "Reopen circuit"} <= set(target.execution_log(probe.arn).states)
    second = target.item(callee)
    assert (second["CircuitStatus"], second["ConsecutiveOpens"]) == ("OPEN", 2)
    assert 2 * BREAK_SECONDS <= break_of(second) <= 2 * BREAK_SECONDS + 1

    # Past where the first break would have ended, the longer one still holds.
    sleep_until(second["OpenedAt"] + BREAK_SECONDS + 1)
    still = target.call(callee, {"fail": False})
    assert (still.error, still.cause["retryAfter"]) == ("CircuitBreaker.CircuitOpen", second["OpenUntil"])

    sleep_until(second["OpenUntil"] + CLOCK_MARGIN_SECONDS)
    assert target.call(callee, {"healed": True}).output == {"healed": True}
    assert target.cli_json("status", callee)[0]["state"] == "CLOSED"


def test_an_operator_isolates_a_circuit_and_resets_it_with_the_cli(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("echo-isolate")

    isolated = target.cli_json("isolate", callee, "--reason", "e2e: incident drill")
    assert (isolated["state"], isolated["reason"], isolated["from"]) == ("ISOLATED", "e2e: incident drill", "CLOSED")
    assert isolated["isolated_by"]  # the caller's AWS identity

    refused = target.call(callee, {"order": 1})
    assert (refused.error, refused.cause["reason"], refused.cause["attempts"]) == ("CircuitBreaker.CircuitIsolated", "e2e: incident drill", 0)
    assert target.cli_json("status", callee)[0]["state"] == "ISOLATED"
    again = target.cli("isolate", callee, "--reason", "a second one", check=2)
    assert "already isolated" in again.stderr

    reset = target.cli_json("reset", callee)
    assert (reset["state"], reset["from"], reset["changed"]) == ("CLOSED", "ISOLATED", True)
    assert target.call(callee, {"order": 2}).output == {"order": 2}


def test_an_open_circuit_with_a_fallback_answers_with_the_fallback_marked(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("flaky-fallback")  # failure_threshold 1, no retries, static answer, not on failure
    failed = target.call(callee, FAIL)
    assert (failed.error, failed.cause["circuitOpened"]) == ("CircuitBreaker.CalleeFailed", True)

    answered = target.call(callee, {"order": 3})

    assert answered.status == "SUCCEEDED"
    assert answered.output["answer"] == {"status": "degraded"}
    marker = answered.output["circuitBreakerFallback"]
    assert (marker["error"], marker["source"], marker["cause"]["callee"], marker["cause"]["attempts"]) == (
        "CircuitBreaker.CircuitOpen", "static", callee, 0,
    )  # fmt: skip
    assert "Answer with fallback" in target.execution_log(answered.arn).states
    printed = target.cli_json("call", callee)
    assert (printed["status"], printed["output"], printed["fallback"]["source"]) == ("SUCCEEDED", {"status": "degraded"}, "static")
