"""Call chains: a callee that calls the breaker again, through the real client, on the real workflow.

Issue 9: before, each level's native ``Retry`` retried the error the level below raised, so a callee calling
itself through the breaker over 3 levels made 84 invocations (4 + 16 + 64) and a runaway loop multiplied
its calls by 4 per level. A breaker's error relayed by a callee is an answer from a breaker: the enclosing
breaker neither retries nor counts it. The relay below is what a user's callee does: it passes on the depth
the breaker handed it (``depth_from_context``) and lets the client's typed error propagate.
"""

from __future__ import annotations

import json

import pytest

from circuit_breaker.local.engine import LocalEngine
from tests.conftest import RELAY_NAME, Breaker, _zip, session_context

RELAY_CODE = '''
import os

from circuit_breaker.client.calls import CircuitBreakerClient, depth_from_context


def handler(event, context):
    levels = event.get("levels")
    if levels is not None and levels <= 1:
        raise RuntimeError("the bottom of the chain is down")
    client = CircuitBreakerClient.for_state_machine(os.environ["BREAKER_ARN"], open_circuit_cache=False)
    inner = None if levels is None else {"levels": levels - 1}
    return {"inner": client.call("relay", inner, depth=depth_from_context(context)).output}
'''


@pytest.fixture(scope="module")
def relay(engine: LocalEngine) -> str:
    session = engine.session()
    role = session.client("iam").create_role(
        RoleName="relay-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName=RELAY_NAME, Runtime="python3.13", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip(RELAY_CODE)}, Timeout=30,
        Environment={"Variables": {"BREAKER_ARN": engine.deployment().state_machine_arn}},
    )  # fmt: skip
    return RELAY_NAME


def test_a_failure_three_levels_down_is_retried_only_where_it_happened(breaker: Breaker, relay: str) -> None:
    before = breaker.engine.runtime.invocations(relay)
    outcome = breaker.call("relay", {"levels": 3})
    # level 3 failed 4 times (its breaker's retries); levels 2 and 1 relayed the breaker's answer once each
    assert breaker.engine.runtime.invocations(relay) - before == 1 + 1 + 4
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "CalleeFailedError" and outcome.cause["counted"] is False
    assert outcome.cause["attempts"] == 1
    # only the level that failed counted its failures: 4 attempts, in the one circuit the three levels share
    assert breaker.item("relay")["Failures"] == 4


def test_a_runaway_loop_stops_at_the_depth_limit_with_one_call_per_level(breaker: Breaker, relay: str) -> None:
    limit = session_context()["circuit_breaker"]["max_depth"]
    before = breaker.engine.runtime.invocations(relay)
    outcome = breaker.call("relay")  # calls itself with no end
    assert outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.cause["error"] == "CalleeFailedError" and outcome.cause["counted"] is False
    # the innermost refusal travels up inside each level's cause
    assert "CircuitBreaker.RecursionLimitExceeded: call chain depth" in outcome.cause["cause"]
    # depths 1 to the limit each invoked the relay once; the breaker refused the call at the limit before calling
    assert breaker.engine.runtime.invocations(relay) - before == limit
    assert breaker.item("relay") is None
