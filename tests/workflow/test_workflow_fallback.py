"""Fallbacks (Polly's) and asynchronous calls' dead-letter queue, executed on the local engine.

``flaky-backed`` falls back to the ``inspector`` function (also when the callee failed), ``flaky-static``
to a static answer (only while its circuit is open or isolated). An execution with an ``idempotencyKey``
is an asynchronous call: when it gets no answer its input, error and key go to the dead-letter queue (it never
falls back: nobody would read the answer).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import INSPECTOR_NAME, STATIC_ANSWER, Breaker

FAIL = {"fail": True}


def open_circuit(breaker: Breaker, callee: str, seconds: int = 60) -> int:
    until = int(breaker.now()) + seconds
    breaker.put_item(callee, CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)
    return until


def dead_letters(breaker: Breaker) -> list[dict[str, Any]]:
    sqs = breaker.engine.session().client("sqs")
    url = breaker.engine.deployment().dead_letter_queue_url
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture(autouse=True)
def empty_dead_letter_queue(breaker: Breaker):
    dead_letters(breaker)
    yield


def test_an_open_circuit_is_answered_by_the_fallback_function(breaker: Breaker) -> None:
    until = open_circuit(breaker, "flaky-backed")
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky-backed", {"order": 7})
    assert outcome.status == "SUCCEEDED"
    assert outcome.states == ["Check input", "Get circuit", "Check circuit", "Fall back?", "Call fallback"]
    marked = outcome.output["circuitBreakerFallback"]
    assert marked == {
        "error": "CircuitBreaker.CircuitOpen",
        "cause": {"callee": "flaky-backed", "state": "OPEN", "retryAfter": until, "attempts": 0},
        "source": "function",
    }
    # the fallback got the original payload and why it was called
    assert outcome.output["answer"]["event"] == {"payload": {"order": 7}, "breaker": {"error": marked["error"], "cause": marked["cause"]}}
    assert outcome.output["answer"]["function"] == INSPECTOR_NAME
    assert breaker.invocations("Flaky") == before


def test_a_failed_callee_falls_back_when_the_setting_says_so(breaker: Breaker) -> None:
    outcome = breaker.call("flaky-backed", FAIL)  # threshold 1, no retries
    assert outcome.status == "SUCCEEDED"
    marked = outcome.output["circuitBreakerFallback"]
    assert marked["error"] == "CircuitBreaker.CalleeFailed" and marked["cause"]["error"] == "FlakyError"
    assert marked["cause"]["circuitOpened"] is True
    assert breaker.item("flaky-backed")["CircuitStatus"] == "OPEN"  # the fallback changes no circuit


def test_a_static_fallback_answers_while_the_circuit_is_open_or_isolated(breaker: Breaker) -> None:
    failed = breaker.call("flaky-static", FAIL)  # no fallback on failure: the caller gets the failure
    assert failed.error == "CircuitBreaker.CalleeFailed" and failed.cause["circuitOpened"] is True
    answered = breaker.call("flaky-static", {"order": 1})
    assert answered.output["answer"] == STATIC_ANSWER
    assert answered.output["circuitBreakerFallback"]["source"] == "static"
    assert answered.states[-1] == "Answer with fallback"
    breaker.put_item("flaky-static", CircuitStatus="ISOLATED", Reason="maintenance")
    isolated = breaker.call("flaky-static", {"order": 2})
    assert isolated.output["circuitBreakerFallback"]["error"] == "CircuitBreaker.CircuitIsolated"
    assert isolated.output["circuitBreakerFallback"]["cause"]["reason"] == "maintenance"


def test_a_static_answer_configured_in_cdk_json_arrives_unchanged_null_members_and_null_included(breaker: Breaker) -> None:
    """The session's app was synthesized with these answers in its context, as the CDK CLI hands cdk.json's."""
    open_circuit(breaker, "flaky-static")
    answered = breaker.call("flaky-static").output["answer"]
    assert answered == STATIC_ANSWER and answered["eta"] is None and answered["detail"] == {"reason": None}
    open_circuit(breaker, "flaky-null")
    outcome = breaker.call("flaky-null")
    assert outcome.status == "SUCCEEDED" and outcome.output["answer"] is None
    assert outcome.output["circuitBreakerFallback"]["source"] == "static"


def test_a_failing_fallback_ends_with_the_original_error_and_its_own(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky-backed")
    breaker.engine.runtime.script(INSPECTOR_NAME, b'{"errorMessage": "backup down", "errorType": "BackupDown"}', "Unhandled")
    outcome = breaker.call("flaky-backed", {"order": 8})
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.cause["fallbackError"]["Error"] == "BackupDown" and "backup down" in outcome.cause["fallbackError"]["Cause"]
    assert breaker.item("flaky-backed")["ConsecutiveOpens"] == 1  # no circuit was touched


def test_a_callee_without_a_fallback_fails_fast_in_four_transitions(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky")
    outcome = breaker.call("flaky", {"x": 1})
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.states == ["Check input", "Get circuit", "Check circuit", "Circuit open"]


def async_call(breaker: Breaker, callee: str, payload: Any, key: str | None = None) -> tuple[str, Any]:
    key = key or f"key-{uuid.uuid4()}"
    return key, breaker.run({"callee": callee, "payload": payload, "idempotencyKey": key})


def test_an_asynchronous_call_that_fails_lands_in_the_dead_letter_queue(breaker: Breaker) -> None:
    key, outcome = async_call(breaker, "flaky-once", FAIL)
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert "Send to dead-letter queue" in outcome.states
    [message] = dead_letters(breaker)
    assert message["idempotencyKey"] == key and message["callee"] == "flaky-once"
    assert message["input"] == {"callee": "flaky-once", "payload": FAIL, "idempotencyKey": key}
    assert message["error"] == "CircuitBreaker.CalleeFailed" and message["cause"]["attempts"] == 2
    assert message["executionArn"] == outcome.arn and message["failedAt"].endswith("Z")


def test_an_asynchronous_call_to_an_open_circuit_lands_in_the_queue_without_a_call(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky")
    before = breaker.invocations("Flaky")
    key, outcome = async_call(breaker, "flaky", {"x": 1})
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    [message] = dead_letters(breaker)
    assert message["idempotencyKey"] == key and message["error"] == "CircuitBreaker.CircuitOpen"
    assert breaker.invocations("Flaky") == before


def test_an_asynchronous_call_never_falls_back_it_waits_in_the_queue(breaker: Breaker) -> None:
    """Nobody reads an asynchronous call's output: a fallback's answer would end the call and lose its work."""
    fallback_calls = breaker.engine.runtime.invocations(INSPECTOR_NAME)
    open_circuit(breaker, "flaky-backed")
    open_circuit(breaker, "flaky-static")
    backed_key, backed = async_call(breaker, "flaky-backed", {"order": 1})
    static_key, static = async_call(breaker, "flaky-static", {"order": 2})
    for outcome in (backed, static):
        assert outcome.error == "CircuitBreaker.CircuitOpen" and "fallbackError" not in outcome.cause
        assert outcome.states == ["Check input", "Get circuit", "Check circuit", "Fall back?", "Send to dead-letter queue", "Fall back?", "Circuit open"]
    breaker.clear()
    failed_key, failed = async_call(breaker, "flaky-backed", FAIL)  # on_failure: true, which a synchronous call would use
    assert failed.error == "CircuitBreaker.CalleeFailed" and "Call fallback" not in failed.states
    assert {(m["idempotencyKey"], m["error"]) for m in dead_letters(breaker)} == {
        (backed_key, "CircuitBreaker.CircuitOpen"), (static_key, "CircuitBreaker.CircuitOpen"), (failed_key, "CircuitBreaker.CalleeFailed"),
    }  # fmt: skip
    assert breaker.engine.runtime.invocations(INSPECTOR_NAME) == fallback_calls
    # the same calls made synchronously are answered by the fallbacks
    open_circuit(breaker, "flaky-static")
    assert breaker.call("flaky-static", {"order": 2}).output["answer"] == STATIC_ANSWER
    assert breaker.call("flaky-backed", FAIL).output["circuitBreakerFallback"]["source"] == "function"


def test_answers_and_synchronous_calls_never_reach_the_queue(breaker: Breaker) -> None:
    assert breaker.call("flaky-once", FAIL).error == "CircuitBreaker.CalleeFailed"  # synchronous
    _, answered = async_call(breaker, "flaky-answers", {"fail": True, "error": "CardDeclined"})
    assert answered.cause["counted"] is False
    _, succeeded = async_call(breaker, "echo", {"fine": True})
    assert succeeded.output == {"fine": True}
    assert dead_letters(breaker) == []


def test_the_key_reaches_the_callee_beside_the_depth(breaker: Breaker) -> None:
    key, outcome = async_call(breaker, "inspector", {"x": 1})
    assert outcome.output["idempotency_key"] == key and outcome.output["depth"] == 1
    assert breaker.call("inspector").output["idempotency_key"] is None


@pytest.mark.parametrize("key", ["", "has space", "q'uote", "x" * 129, 42])
def test_a_malformed_idempotency_key_is_invalid_input(breaker: Breaker, key: Any) -> None:
    outcome = breaker.run({"callee": "echo", "idempotencyKey": key})
    assert outcome.error == "CircuitBreaker.InvalidInput" and "idempotencyKey" in outcome.cause["message"]
