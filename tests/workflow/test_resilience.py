"""Resilience: many failing callers at once, table and event-bus faults, bad input, misbehaving callees."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuit_breaker.local.patches.service_errors import dynamodb_error_name
from tests.conftest import Breaker

CONTRACT_ERRORS = {
    "CircuitBreaker.InvalidInput",
    "CircuitBreaker.UnknownCallee",
    "CircuitBreaker.CircuitOpen",
    "CircuitBreaker.StoreUnavailable",
    "CircuitBreaker.CircuitIsolated",
    "CircuitBreaker.CalleeFailed",
    "CircuitBreaker.RecursionLimitExceeded",
}


def test_fifty_concurrent_failures_open_the_circuit_once(breaker: Breaker) -> None:
    arns = [breaker.start({"callee": "flaky", "payload": {"fail": True, "sleep_seconds": 0.2}}) for _ in range(50)]
    outcomes = [breaker.finish(arn) for arn in arns]
    assert {o.error for o in outcomes} <= CONTRACT_ERRORS
    assert all(o.status == "FAILED" for o in outcomes)
    openers = [o for o in outcomes if o.error == "CircuitBreaker.CalleeFailed" and o.cause["circuitOpened"]]
    assert len(openers) == 1
    # the expiry was written by one execution only: exactly one "Open circuit" write took effect
    opened_writes = [o for o in outcomes if any(v.name == "Open circuit" and not v.errors for v in o.path.visits)]
    assert opened_writes == openers
    item = breaker.item("flaky")
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 1
    assert item["ExpiryTimeStamp"] == item["OpenUntil"] + 300 and item["LastExecutionArn"] == openers[0].arn


READ_FAULTS = [
    ("ProvisionedThroughputExceededException", 400),
    ("ThrottlingException", 400),
    ("InternalServerError", 500),
    ("ServiceUnavailable", 503),
]


@pytest.mark.parametrize(("code", "status"), READ_FAULTS)
def test_an_unreadable_table_fails_open_by_default(breaker: Breaker, code: str, status: int) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", code, status=status)
    outcome = breaker.call("echo", {"kept": code})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"kept": code}
    assert "Call anyway?" in outcome.states


@pytest.mark.parametrize(("code", "status"), READ_FAULTS)
def test_an_unreadable_table_fails_closed_when_configured(breaker: Breaker, code: str, status: int) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", code, status=status)
    before = breaker.invocations("Echo")
    outcome = breaker.call("echo-closed", {"a": 1})
    assert outcome.error == "CircuitBreaker.StoreUnavailable"
    assert outcome.cause["error"] == dynamodb_error_name(code)  # as AWS names it
    assert f"Error Code: {code};" in outcome.cause["cause"]
    assert breaker.invocations("Echo") == before


def test_a_request_the_table_refuses_as_invalid_never_fails_open(breaker: Breaker) -> None:
    # A broken expression is a bug: AWS reports it as DynamoDB.AmazonDynamoDBException (code
    # ValidationException), the same name as throttling, so the workflow reads the code in the Cause.
    breaker.engine.faults.inject("dynamodb", "GetItem", "ValidationException")
    before = breaker.invocations("Echo")
    outcome = breaker.call("echo", {"a": 1})
    assert outcome.error == "DynamoDB.AmazonDynamoDBException" and "Error Code: ValidationException;" in outcome.cause
    assert outcome.states[-1] == "Store request rejected"
    assert breaker.invocations("Echo") == before


WRITE_FAULTS = [
    ("ProvisionedThroughputExceededException", 400),
    ("InternalServerError", 500),
    ("TransactionConflictException", 400),
    ("ReplicatedWriteConflictException", 400),
    ("ValidationException", 400),
]


def _open_and_over(breaker: Breaker, callee: str) -> None:
    ended = int(breaker.now()) - 1
    breaker.put_item(callee, CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)


@pytest.mark.parametrize(("code", "status"), WRITE_FAULTS)
def test_a_failed_bookkeeping_write_never_replaces_the_outcome(breaker: Breaker, code: str, status: int) -> None:
    faults, error = breaker.engine.faults, dynamodb_error_name(code)
    # Count failure (every attempt's): the callee's error comes back, with the store error beside it
    faults.inject("dynamodb", "UpdateItem", code, status=status)
    counted = breaker.call("flaky-strict", {"fail": True, "message": "the callee's own error"})
    assert counted.error == "CircuitBreaker.CalleeFailed" and "the callee's own error" in counted.cause["cause"]
    assert counted.cause["storeError"] == error and counted.cause["circuitOpened"] is False
    # Start failure window (after Count failure found an expired record)
    faults.clear()
    ended = int(breaker.now()) - 1
    breaker.put_item("flaky-strict", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended)
    faults.inject("dynamodb", "UpdateItem", code, status=status, skip=1)
    windowed = breaker.call("flaky-strict", {"fail": True})
    assert "Start failure window" in windowed.states
    assert windowed.error == "CircuitBreaker.CalleeFailed" and windowed.cause["storeError"] == error
    # Open circuit (the count reached the threshold of 1)
    faults.clear()
    breaker.clear()
    faults.inject("dynamodb", "UpdateItem", code, status=status, skip=1, times=1)
    opened = breaker.call("flaky-strict", {"fail": True})
    assert opened.error == "CircuitBreaker.CalleeFailed" and "Open circuit" in opened.states
    # Take probe lease: the circuit stays open for this caller
    faults.clear()
    _open_and_over(breaker, "flaky")
    faults.inject("dynamodb", "UpdateItem", code, status=status)
    leased = breaker.call("flaky", {"ok": True})
    assert leased.error == "CircuitBreaker.CircuitOpen" and leased.cause["state"] == "HALF_OPEN"
    # Close circuit after a good probe: the answer still comes back
    faults.clear()
    faults.inject("dynamodb", "UpdateItem", code, status=status, skip=1)  # the lease goes through, not the close
    probed = breaker.call("flaky", {"answer": 42})
    assert probed.status == "SUCCEEDED" and probed.output == {"answer": 42}
    # Reopen circuit after a failed probe: the callee's failure comes back
    faults.clear()
    _open_and_over(breaker, "flaky")
    faults.inject("dynamodb", "UpdateItem", code, status=status, skip=1)
    reopened = breaker.call("flaky", {"fail": True})
    assert reopened.error == "CircuitBreaker.CalleeFailed" and "Reopen circuit" in reopened.states
    assert reopened.cause["storeError"] == error


def json_values(max_leaves: int = 6) -> st.SearchStrategy:
    scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    return st.recursive(scalars, lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=max_leaves)


def as_doubles(value: object) -> object:
    """A JSON value with every number as the double JSON holds (16 and 16.0 alike; 66235156535629820 and 6.62e16 alike)."""
    return json.loads(json.dumps(value), parse_int=float)


def inputs() -> st.SearchStrategy:
    callees = st.sampled_from(["echo", "inspector", "", "Echo", "payment", "echo "]) | st.text(string.printable, max_size=10) | json_values(2)
    depths = st.integers(-3, 40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=3) | st.none()
    documents = st.fixed_dictionaries(
        {"callee": callees},
        optional={"payload": json_values(), "depth": depths, "extra": json_values(2)},
    )
    return documents | json_values()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=inputs())
def test_any_input_ends_in_a_named_outcome_and_writes_nothing(breaker: Breaker, document: object) -> None:
    outcome = breaker.run(document)
    valid_call = (
        isinstance(document, dict)
        and document.get("callee") in ("echo", "inspector")
        and (
            "depth" not in document
            or (isinstance(document["depth"], (int, float)) and not isinstance(document["depth"], bool)
                and 0 <= document["depth"] <= 1_000_000 and document["depth"] == int(document["depth"]))
        )
    )
    if valid_call and document.get("depth", 0) >= 16:
        assert outcome.error == "CircuitBreaker.RecursionLimitExceeded"
    elif valid_call:
        assert outcome.status == "SUCCEEDED", (document, outcome.error, outcome.cause)
        answer = outcome.output if document["callee"] == "echo" else outcome.output["event"]
        assert as_doubles(answer) == as_doubles(document.get("payload", {}))
    else:
        assert outcome.error in ("CircuitBreaker.InvalidInput", "CircuitBreaker.UnknownCallee"), (document, outcome.error, outcome.cause)
        assert isinstance(outcome.cause, dict) and outcome.cause.get("message")
    assert breaker.dynamodb.scan(TableName=breaker.table)["Items"] == []


def test_a_callee_answer_too_large_for_a_state_is_an_answer_not_an_outage(breaker: Breaker) -> None:
    # AWS fails a task whose result exceeds 256 KiB with States.DataLimitExceeded (../shared/parity,
    # error_handling/test_states_errors). Retrying returns the same answer, and the callee is up: not counted.
    echo = breaker.engine.function_name("Echo")
    breaker.engine.runtime.script(echo, json.dumps({"blob": "x" * 300_000}).encode(), None)
    outcome = breaker.call("echo", {"a": 1})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "States.DataLimitExceeded" and outcome.cause["cause"]
    assert outcome.cause["counted"] is False and outcome.cause["attempts"] == 1
    assert breaker.item("echo") is None


def test_a_large_answer_within_the_limit_comes_back_whole(breaker: Breaker) -> None:
    echo = breaker.engine.function_name("Echo")
    big = {"blob": "y" * 200_000}
    breaker.engine.runtime.script(echo, json.dumps(big).encode(), None)
    assert breaker.call("echo", {"a": 1}).output == big


def test_an_error_without_error_type_is_still_a_callee_failure(breaker: Breaker) -> None:
    flaky = breaker.engine.function_name("Flaky")
    breaker.engine.runtime.script(flaky, b'{"errorMessage": "sandbox crashed: signal 11"}', "Unhandled", times=4)
    outcome = breaker.call("flaky", {"x": 1})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] and "signal 11" in outcome.cause["cause"]


def test_an_answer_that_is_not_json_is_a_callee_failure(breaker: Breaker) -> None:
    flaky = breaker.engine.function_name("Flaky")
    crash = {"errorMessage": "Unable to marshal response: Object of type object is not JSON serializable", "errorType": "Runtime.MarshalError"}
    breaker.engine.runtime.script(flaky, json.dumps(crash).encode(), "Unhandled", times=4)
    outcome = breaker.call("flaky", {"x": 1})
    assert outcome.error == "CircuitBreaker.CalleeFailed" and outcome.cause["error"] == "Runtime.MarshalError"


def test_lambda_throttling_is_retried_and_counted(breaker: Breaker) -> None:
    breaker.engine.faults.inject("lambda", "Invoke", "TooManyRequestsException", status=429, times=2)
    outcome = breaker.call("echo", {"after": "throttling"})
    assert outcome.status == "SUCCEEDED" and outcome.output == {"after": "throttling"}
    calls = [v for v in outcome.path.visits if v.name == "Call callee"]
    assert [v.errors for v in calls] == [["Lambda.TooManyRequestsException"]] * 2 + [[]]
    assert breaker.item("echo")["Failures"] == 2  # the Lambda service's own errors always count
