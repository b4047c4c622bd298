"""The workflow's contract (DESIGN.md section 2), executed on the local engine from the synthesized ASL.

One test per row of the error table, plus success: the callee's answer comes back unchanged, the
input is validated with messages that say what to do, and the call-chain depth reaches the callee.
"""

from __future__ import annotations

import pytest

from tests.conftest import Breaker


def test_success_returns_the_callee_answer_unchanged(breaker: Breaker) -> None:
    payload = {
        "order": 42,
        "text": 'quotes " and \\ backslashes, ünïcode ✓',
        "nested": {"list": [1, 2.5, None, True, {"deep": []}]},
        "empty": {},
    }
    outcome = breaker.call("echo", payload)
    assert outcome.status == "SUCCEEDED"
    assert outcome.output == payload
    assert outcome.states == ["Check input", "Get circuit", "Check circuit", "Call callee"]


@pytest.mark.parametrize("payload", ["just a string", [1, 2, 3], 7, False])
def test_any_json_payload_is_passed_through(breaker: Breaker, payload: object) -> None:
    assert breaker.call("echo", payload).output == payload


def test_payload_defaults_to_an_empty_object(breaker: Breaker) -> None:
    outcome = breaker.run({"callee": "inspector"})
    assert outcome.status == "SUCCEEDED"
    assert outcome.output["event"] == {}


def test_healthy_call_writes_nothing_to_the_table(breaker: Breaker) -> None:
    assert breaker.call("echo", {"a": 1}).status == "SUCCEEDED"
    assert breaker.item("echo") is None


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("not an object", "must be a JSON object"),
        ([{"callee": "echo"}], "must be a JSON object"),
        (None, "got null"),
        (12, "must be a JSON object"),
        ({}, "callee must be a non-empty string"),
        ({"callee": ""}, "callee must be a non-empty string"),
        ({"callee": 5}, "callee must be a non-empty string"),
        ({"callee": ["echo"]}, "callee must be a non-empty string"),
        ({"callee": "echo", "depth": -1}, "depth must be a whole number"),
        ({"callee": "echo", "depth": 1.5}, "depth must be a whole number"),
        ({"callee": "echo", "depth": "3"}, "depth must be a whole number"),
        ({"callee": "echo", "depth": None}, "depth must be a whole number"),
        ({"callee": "echo", "depth": 1e300}, "depth must be a whole number"),
        ({"callee": "echo", "depth": 2**60}, "depth must be a whole number"),
        ({"callee": "echo", "idempotencyKey": "key-1\n"}, "idempotencyKey must be 1 to 128"),  # JavaScript's $: the very end
        ({"callee": "echo", "idempotencyKey": "k" * 129}, "idempotencyKey must be 1 to 128"),
    ],
)
def test_invalid_input_is_rejected_with_a_message(breaker: Breaker, document: object, says: str) -> None:
    outcome = breaker.run(document)
    assert outcome.status == "FAILED"
    assert outcome.error == "CircuitBreaker.InvalidInput"
    assert says in outcome.cause["message"]
    assert outcome.states == ["Check input", "Reject input"]


def test_a_depth_too_large_for_a_double_is_invalid_input_not_a_query_error(breaker: Breaker) -> None:
    # 1e400 is valid JSON; it reads as infinity, on which JSONata's $floor throws.
    arn = breaker.sfn.start_execution(
        stateMachineArn=breaker.engine.deployment().state_machine_arn, input='{"callee": "echo", "depth": 1e400}'
    )["executionArn"]
    outcome = breaker.finish(arn)
    assert outcome.error == "CircuitBreaker.InvalidInput"
    assert "a number out of range" in outcome.cause["message"]


HUGE = "1" + "0" * 400  # an integer JSON.parse reads as Infinity, as it reads 1e400


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (f'{{"callee": "echo", "depth": {HUGE}}}', "depth must be a whole number"),
        (f'{{"callee": "echo", "depth": -{HUGE}}}', "depth must be a whole number"),
        (f'{{"callee": "echo", "depth": {"9" * 309}}}', "depth must be a whole number"),
        (f'{{"callee": {HUGE}}}', "callee must be a non-empty string"),
        (f'{{"callee": "echo", "idempotencyKey": -{HUGE}}}', "idempotencyKey must be 1 to 128"),
        (HUGE, "the input must be a JSON object"),
        ("-1e400", "the input must be a JSON object"),
    ],
)
def test_a_number_too_large_for_a_double_is_invalid_input_not_a_query_error(breaker: Breaker, document: str, says: str) -> None:
    # JSON.parse reads a number past 1.8e308 as (-)Infinity, on which $type, $string and $not fail (D1001):
    # Check input must name the field rather than fail with States.QueryEvaluationError
    arn = breaker.sfn.start_execution(stateMachineArn=breaker.engine.deployment().state_machine_arn, input=document)["executionArn"]
    outcome = breaker.finish(arn)
    assert (outcome.error, outcome.states) == ("CircuitBreaker.InvalidInput", ["Check input", "Reject input"])
    assert says in outcome.cause["message"] and outcome.cause["message"].endswith("got a number out of range")


@pytest.mark.parametrize("name", ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"])
def test_prototype_member_names_are_unknown_callees(breaker: Breaker, name: str) -> None:
    # The reference JSONata's $lookup returns an object's prototype members for these names.
    outcome = breaker.call(name)
    assert outcome.error == "CircuitBreaker.UnknownCallee"
    assert outcome.cause["callee"] == name


def test_echoed_input_is_bounded_so_the_cause_stays_valid_json(breaker: Breaker) -> None:
    # AWS cuts a Cause at 32,768 characters: what a Cause echoes must be bounded, or callers get broken JSON.
    long_name = "n" * 100_000
    unknown = breaker.call(long_name)
    assert unknown.error == "CircuitBreaker.UnknownCallee"
    assert unknown.cause["callee"] == long_name[:200]
    bad_depth = breaker.run({"callee": "echo", "depth": "7" * 200_000})
    assert bad_depth.error == "CircuitBreaker.InvalidInput" and len(bad_depth.cause["message"]) < 400
    failing = breaker.call("flaky-once", {"fail": True, "message": '"\\x01' * 10_000})
    assert failing.error == "CircuitBreaker.CalleeFailed" and failing.cause["causeTruncated"] is True
    for outcome in (unknown, bad_depth, failing):
        described = breaker.sfn.describe_execution(executionArn=outcome.arn)
        assert len(described["cause"]) < 32_768


def test_unknown_callee_names_the_registered_ones(breaker: Breaker) -> None:
    outcome = breaker.call("payment")
    assert outcome.error == "CircuitBreaker.UnknownCallee"
    assert outcome.cause["callee"] == "payment"
    assert "echo, echo-closed, flaky" in outcome.cause["message"]
    assert breaker.item("payment") is None


def test_depth_reaches_the_callee_incremented_in_the_client_context(breaker: Breaker) -> None:
    assert breaker.call("inspector").output["depth"] == 1
    assert breaker.call("inspector", {"x": 1}, depth=5).output["depth"] == 6
    assert breaker.call("inspector", depth=15).output["depth"] == 16


def test_callee_runs_with_its_own_configuration(breaker: Breaker) -> None:
    output = breaker.call("inspector").output
    assert output["env"] == "from-the-function-configuration"
    assert output["function"] == "breaker-test-inspector"
    assert 0 < output["remaining_ms"] <= 5000


def test_depth_at_the_limit_is_refused_before_anything_runs(breaker: Breaker) -> None:
    before = breaker.engine.runtime.invocations("breaker-test-inspector")
    outcome = breaker.call("inspector", depth=16)
    assert outcome.error == "CircuitBreaker.RecursionLimitExceeded"
    assert outcome.cause == {"callee": "inspector", "depth": 16, "limit": 16}
    assert breaker.engine.runtime.invocations("breaker-test-inspector") == before


def test_callee_failure_reports_the_callee_error(breaker: Breaker) -> None:
    outcome = breaker.call("flaky", {"fail": True, "message": 'bad "quoted" \\ input'})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["callee"] == "flaky"
    assert outcome.cause["error"] == "FlakyError"
    assert outcome.cause["circuitOpened"] is False
    assert 'bad \\"quoted\\" \\\\ input' in outcome.cause["cause"]


def test_an_answer_the_python_runtime_cannot_marshal_is_a_callee_failure(breaker: Breaker) -> None:
    # AWS's Python runtime posts Runtime.MarshalError (FunctionError Unhandled) for an answer simplejson refuses
    outcome = breaker.call("inspector", {"python_answer": "a set"})
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "Runtime.MarshalError"
    assert "Unable to marshal response: Object of type set is not JSON serializable" in outcome.cause["cause"]


def test_answers_reach_the_caller_as_the_python_runtime_writes_them(breaker: Breaker) -> None:
    # a Decimal (a DynamoDB number read through boto3) is a number; bytes are posted as they are, so text
    assert breaker.call("inspector", {"python_answer": "a decimal"}).output == {"price": 19.99}
    assert breaker.call("inspector", {"python_answer": "bytes"}).output == "plain text"


def test_open_circuit_fails_fast_without_calling_the_callee(breaker: Breaker) -> None:
    open_until = int(breaker.now()) + 100
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=open_until, ExpiryTimeStamp=open_until + 300, ConsecutiveOpens=1)
    before = breaker.invocations("Flaky")
    outcome = breaker.call("flaky", {"fail": False})
    assert outcome.error == "CircuitBreaker.CircuitOpen"
    assert outcome.cause == {"callee": "flaky", "state": "OPEN", "retryAfter": open_until, "attempts": 0}
    assert "Call callee" not in outcome.states
    assert breaker.invocations("Flaky") == before


def test_isolated_circuit_fails_with_the_operators_reason(breaker: Breaker) -> None:
    until = int(breaker.now()) + 600
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="maintenance window", IsolatedBy="ops", ExpiryTimeStamp=until)
    outcome = breaker.call("echo", {"a": 1})
    assert outcome.error == "CircuitBreaker.CircuitIsolated"
    assert outcome.cause == {"callee": "echo", "reason": "maintenance window", "retryAfter": until, "attempts": 0}


def test_isolation_without_an_end_reports_no_retry_time(breaker: Breaker) -> None:
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="until further notice")
    outcome = breaker.call("echo")
    assert outcome.error == "CircuitBreaker.CircuitIsolated"
    assert outcome.cause["retryAfter"] is None
    assert breaker.item("echo")["CircuitStatus"] == "ISOLATED"


def test_store_unavailable_fails_closed_when_configured(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")
    outcome = breaker.call("echo-closed", {"a": 1})
    assert outcome.error == "CircuitBreaker.StoreUnavailable"
    assert outcome.cause["callee"] == "echo-closed"
    assert outcome.cause["error"] == "DynamoDB.ProvisionedThroughputExceededException"
    get_circuit = outcome.path.visits[1]
    assert get_circuit.name == "Get circuit" and get_circuit.attempts == 3
