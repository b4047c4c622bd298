"""Transition events: published on every change of a circuit's state, never on the healthy path."""

from __future__ import annotations

from circuit_breaker.local.event_capture import EventCapture
from tests.conftest import Breaker

FAIL = {"fail": True}


def _transitions(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["detail"]["from"], e["detail"]["to"]) for e in events]


def test_the_healthy_path_and_fast_fails_publish_nothing(breaker: Breaker, transitions: EventCapture) -> None:
    breaker.call("echo", {"a": 1})
    breaker.call("flaky", FAIL)  # a failure below the threshold changes no state
    until = int(breaker.now()) + 60
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300)
    assert breaker.call("echo").error == "CircuitBreaker.CircuitOpen"
    assert transitions.drain() == []


def test_opening_publishes_one_event_with_the_schema(breaker: Breaker, transitions: EventCapture) -> None:
    outcome = breaker.call("flaky-strict", {"fail": True, "message": "down"})  # threshold 1
    assert outcome.cause["circuitOpened"] is True
    [event] = transitions.drain()
    assert event["source"] == "circuit-breaker" and event["detail-type"] == "Circuit state changed"
    detail = event["detail"]
    item = breaker.item("flaky-strict")
    assert detail == {
        "callee": "flaky-strict",
        "from": "CLOSED",
        "to": "OPEN",
        "reason": "failure threshold reached",
        "failures": 1,
        "threshold": 1,
        "openUntil": item["OpenUntil"],
        "consecutiveOpens": 1,
        "error": "FlakyError",
        "executionArn": outcome.arn,
        "at": detail["at"],
    }
    assert abs(detail["at"] - breaker.now()) < 30
    assert outcome.arn in event["resources"]


def test_a_successful_probe_publishes_half_open_then_closed(breaker: Breaker, transitions: EventCapture) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=2)
    outcome = breaker.call("flaky", {"ok": 1})
    events = transitions.drain()
    assert _transitions(events) == [("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]
    assert events[0]["detail"]["consecutiveOpens"] == 2 and events[1]["detail"]["reason"] == "probe succeeded"
    assert all(e["detail"]["executionArn"] == outcome.arn for e in events)


def test_a_failed_probe_publishes_half_open_then_reopened(breaker: Breaker, transitions: EventCapture) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=1)
    breaker.call("flaky-strict", FAIL)
    events = transitions.drain()
    assert _transitions(events) == [("OPEN", "HALF_OPEN"), ("HALF_OPEN", "OPEN")]
    reopened = events[1]["detail"]
    assert reopened["reason"] == "probe failed" and reopened["consecutiveOpens"] == 2
    assert reopened["openUntil"] == breaker.item("flaky-strict")["OpenUntil"]


def test_racing_failures_publish_the_opening_once(breaker: Breaker, transitions: EventCapture) -> None:
    live = int(breaker.now()) + 30
    breaker.put_item("flaky", CircuitStatus="CLOSED", Failures=2, WindowEndsAt=live, ExpiryTimeStamp=live)
    arns = [breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 0.3}}) for _ in range(6)]
    for arn in arns:
        breaker.finish(arn)
    assert _transitions(transitions.drain()) == [("CLOSED", "OPEN")]


def test_an_event_bus_outage_does_not_change_the_outcome(breaker: Breaker, transitions: EventCapture) -> None:
    breaker.engine.faults.inject("events", "PutEvents", "InternalException", status=500)
    outcome = breaker.call("flaky-strict", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["circuitOpened"] is True
    assert "Announce opened" in outcome.states
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)
    probe = breaker.call("flaky", {"still": "answered"})
    assert probe.status == "SUCCEEDED" and probe.output == {"still": "answered"}
    breaker.engine.faults.clear()
    assert transitions.drain() == []
