"""The workflow's contract, end to end: a healthy call, its payload through unchanged, and the inputs it refuses.

Each call is one StartSyncExecution (or one ``breaker call``); each path is read back from the state machine's
log group, as the Step Functions console shows an Express execution.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.target import Target

pytestmark = pytest.mark.e2e

#: The healthy path: four states, one read and one invocation, nothing written.
HEALTHY_PATH = ["Check input", "Get circuit", "Check circuit", "Call callee"]


def test_a_healthy_call_answers_with_the_callee_s_answer_on_the_four_state_path(target: Target) -> None:
    outcome = target.call("echo", {"order": 42})

    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"order": 42})
    log = target.execution_log(outcome.arn)
    assert log.states == HEALTHY_PATH
    assert log.terminal is not None and log.terminal["type"] == "ExecutionSucceeded"
    assert json.loads(log.terminal["details"]["output"]) == {"order": 42}


def test_the_payload_reaches_the_callee_and_its_answer_comes_back_unchanged(target: Target) -> None:
    payload = {
        "text": "naïve café ✓ \"quoted\" \\ {% $notAnExpression %}",
        "numbers": [0, -1, 3.5, 12345678901234],
        "nested": {"empty": {}, "list": [], "null": None, "flag": False},
        "bulk": "x" * 20_000,
    }
    outcome = target.call("echo", payload)
    assert (outcome.status, outcome.output) == ("SUCCEEDED", payload)

    # A null payload arrives as {} (Step Functions leaves a null Payload out of the invoke).
    assert target.run({"callee": "echo", "payload": None}).output == {}

    printed = target.cli_json("call", "echo", "--payload", json.dumps({"via": "cli", "n": [1, 2]}))
    assert (printed["status"], printed["output"], printed["fallback"]) == ("SUCCEEDED", {"via": "cli", "n": [1, 2]}, None)


@pytest.mark.parametrize(
    "document",
    [
        "just a string",
        {"payload": {"no": "callee"}},
        {"callee": ""},
        {"callee": "echo", "depth": -1},
        {"callee": "echo", "depth": 1.5},
        {"callee": "echo", "idempotencyKey": "spaces are not allowed"},
    ],
    ids=["not-an-object", "no-callee", "empty-callee", "negative-depth", "fractional-depth", "bad-idempotency-key"],
)
def test_bad_input_fails_with_invalid_input_and_calls_nothing(target: Target, document: object) -> None:
    outcome = target.run(json.dumps(document))

    assert (outcome.status, outcome.error) == ("FAILED", "CircuitBreaker.InvalidInput")
    assert outcome.cause["message"]
    assert target.execution_log(outcome.arn).states == ["Check input", "Reject input"]


def test_input_that_is_not_json_is_refused_by_step_functions_itself(target: Target) -> None:
    with pytest.raises(ClientError) as refused:
        target.run("{not json")
    assert refused.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_an_unknown_callee_fails_naming_the_registered_ones_and_the_cli_starts_nothing(target: Target) -> None:
    outcome = target.call("nosuch")

    assert (outcome.status, outcome.error) == ("FAILED", "CircuitBreaker.UnknownCallee")
    assert outcome.cause["callee"] == "nosuch"
    assert all(name in outcome.cause["message"] for name in target.callees)
    assert target.execution_log(outcome.arn).states == ["Check input", "Reject unknown callee"]

    refused = target.cli("call", "nosuch", check=2)
    assert "not registered" in refused.stderr and "no execution was started" in refused.stderr


def test_a_call_chain_at_the_depth_limit_is_refused_one_below_it_goes_through(target: Target) -> None:
    assert target.call("echo", {"level": 15}, depth=15).output == {"level": 15}

    outcome = target.call("echo", {"level": 16}, depth=16)
    assert (outcome.status, outcome.error) == ("FAILED", "CircuitBreaker.RecursionLimitExceeded")
    assert (outcome.cause["depth"], outcome.cause["limit"], outcome.cause["callee"]) == (16, 16, "echo")
    assert target.execution_log(outcome.arn).states == ["Check input", "Reject deep call chain"]
