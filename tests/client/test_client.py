"""The caller's client on the local engine: typed results and errors, the open-circuit cache, asynchronous calls.

Executions are counted at the API (every ``StartSyncExecution`` / ``StartExecution`` the engine
received), so "no execution started" is what the engine saw, not what the client says.
"""

from __future__ import annotations

import json
import time

import pytest

from circuit_breaker.client.calls import (
    CallResult,
    CircuitBreakerClient,
    check_idempotency_key,
    fallback_of,
    idempotency_key_from_context,
)
from circuit_breaker.core.errors import (
    CalleeFailedError,
    CircuitIsolatedError,
    CircuitOpenError,
    InvalidInputError,
    UnknownCalleeError,
)
from circuit_breaker.local.faults import Fault
from circuit_breaker.client.open_circuits import OpenCircuitCache
from tests.conftest import INSPECTOR_NAME, STATIC_ANSWER, Breaker, run_cli

FAIL = {"fail": True}


def counter(breaker: Breaker, action: str = "StartSyncExecution") -> Fault:
    """Counts the engine's ``action`` requests (``.hits``), letting each one through."""
    return breaker.engine.faults.run_before("stepfunctions", action, lambda: None, times=10**9)


def client(breaker: Breaker, cache: OpenCircuitCache | bool = True) -> CircuitBreakerClient:
    return CircuitBreakerClient(breaker.engine.connection(), breaker.engine.deployment(), open_circuit_cache=cache)


def open_circuit(breaker: Breaker, callee: str, seconds: int = 60) -> int:
    until = int(breaker.now()) + seconds
    breaker.put_item(callee, CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)
    return until


# -- typed results ----------------------------------------------------------------------------------------


def test_the_callees_answer_is_not_a_fallback(breaker: Breaker) -> None:
    result = client(breaker).call("echo", {"order": 1})
    assert result.output == {"order": 1} and result.fallback is None


def test_a_fallback_answer_says_so_and_why(breaker: Breaker) -> None:
    until = open_circuit(breaker, "flaky-static")
    result = client(breaker).call("flaky-static", {"order": 1})
    assert result.output == STATIC_ANSWER  # the answer, unwrapped
    assert result.fallback is not None and result.fallback.source == "static"
    reason = result.fallback.reason
    assert isinstance(reason, CircuitOpenError) and reason.retry_after == until and reason.attempts == 0


def test_a_fallback_function_answers_after_the_callee_failed(breaker: Breaker) -> None:
    result = client(breaker).call("flaky-backed", FAIL)
    assert result.fallback.source == "function" and result.output["function"] == INSPECTOR_NAME
    reason = result.fallback.reason
    assert isinstance(reason, CalleeFailedError) and reason.callee_error == "FlakyError"
    assert reason.counted and reason.attempts == 1 and reason.circuit_opened


def test_an_answer_that_only_looks_like_a_fallback_is_the_callees() -> None:
    marker = {"error": "CircuitBreaker.CircuitOpen", "cause": {}, "source": "static"}
    assert fallback_of({"circuitBreakerFallback": marker, "answer": 1}) is not None
    for output in (
        {"circuitBreakerFallback": marker, "answer": 1, "more": 2},
        {"circuitBreakerFallback": {**marker, "source": "elsewhere"}, "answer": 1},
        {"circuitBreakerFallback": "yes", "answer": 1},
        [marker],
    ):
        assert CallResult.of(output, "arn").fallback is None and CallResult.of(output, "arn").output == output


def test_callee_failed_tells_attempts_and_whether_it_counted(breaker: Breaker) -> None:
    with pytest.raises(CalleeFailedError) as failed:
        client(breaker).call("flaky-once", FAIL)  # one retry
    assert failed.value.attempts == 2 and failed.value.counted
    assert failed.value.store_error is None and failed.value.fallback_error is None
    with pytest.raises(CalleeFailedError) as answered:
        client(breaker).call("flaky-answers", {"fail": True, "error": "CardDeclined"})
    assert answered.value.counted is False and answered.value.attempts == 1


def test_callee_failed_names_the_table_error_it_called_through(breaker: Breaker) -> None:
    breaker.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")  # fails open
    with pytest.raises(CalleeFailedError) as failed:
        client(breaker).call("flaky-once", FAIL)
    assert failed.value.store_error == "DynamoDB.ProvisionedThroughputExceededException"


def test_a_failing_fallback_is_reported_beside_the_breakers_error(breaker: Breaker) -> None:
    failure = b'{"errorMessage": "backup down", "errorType": "BackupDown"}'
    breaker.engine.runtime.script(INSPECTOR_NAME, failure, "Unhandled", times=2)
    open_circuit(breaker, "flaky-backed")
    with pytest.raises(CircuitOpenError) as still_open:
        client(breaker, cache=False).call("flaky-backed", {"order": 1})
    assert still_open.value.fallback_error["Error"] == "BackupDown" and still_open.value.attempts == 0
    breaker.clear()
    breaker.engine.runtime.script(INSPECTOR_NAME, failure, "Unhandled")
    with pytest.raises(CalleeFailedError) as failed:
        client(breaker).call("flaky-backed", FAIL)
    assert failed.value.fallback_error["Error"] == "BackupDown" and failed.value.callee_error == "FlakyError"


# -- the open-circuit cache -------------------------------------------------------------------------------


def test_an_open_circuit_costs_one_execution_then_none(breaker: Breaker) -> None:
    until = open_circuit(breaker, "flaky")
    started = counter(breaker)
    caller = client(breaker)
    with pytest.raises(CircuitOpenError) as first:
        caller.call("flaky", {"x": 1})
    assert not first.value.cached and started.hits == 1
    for _ in range(20):
        with pytest.raises(CircuitOpenError) as again:
            caller.call("flaky", {"x": 1})
        assert again.value.cached and again.value.retry_after == until
        assert again.value.execution_arn == first.value.execution_arn
    assert started.hits == 1
    assert caller.call("echo", {"x": 2}).output == {"x": 2}  # other callees are not affected
    assert started.hits == 2


def test_without_the_cache_every_call_starts_an_execution(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky")
    started = counter(breaker)
    caller = client(breaker, cache=False)
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as error:
            caller.call("flaky")
        assert not error.value.cached
    assert started.hits == 3


def test_the_first_call_after_retry_after_goes_through_and_probes(breaker: Breaker) -> None:
    shift = {"seconds": 0.0}
    caller = client(breaker, OpenCircuitCache(clock=lambda: time.time() + shift["seconds"]))
    until = open_circuit(breaker, "flaky", seconds=30)
    with pytest.raises(CircuitOpenError):
        caller.call("flaky", {"fail": False})
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=until - 60, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)
    shift["seconds"] = until - time.time()  # the client's clock reaches retryAfter; the break ended in the table
    started = counter(breaker)
    assert caller.call("flaky", {"fail": False}).output is not None  # the probe closed the circuit
    assert started.hits == 1 and breaker.item("flaky")["CircuitStatus"] == "CLOSED"


def test_a_reset_isolation_reaches_a_caching_client_within_the_ttl(breaker: Breaker) -> None:
    shift = {"seconds": 0.0}
    cache = OpenCircuitCache(clock=lambda: time.time() + shift["seconds"], isolation_ttl_seconds=5)
    caller = client(breaker, cache)
    breaker.put_item("echo", CircuitStatus="ISOLATED", Reason="maintenance")
    with pytest.raises(CircuitIsolatedError):
        caller.call("echo", {"a": 1})
    breaker.clear()  # an operator reset the circuit
    with pytest.raises(CircuitIsolatedError) as cached:
        caller.call("echo", {"a": 1})
    assert cached.value.cached and cached.value.reason == "maintenance"
    shift["seconds"] = 5
    assert caller.call("echo", {"a": 1}).output == {"a": 1}


def test_a_fallback_answer_is_not_cached(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky-static")
    started = counter(breaker)
    caller = client(breaker)
    for _ in range(3):
        assert caller.call("flaky-static").fallback is not None
    assert started.hits == 3 and len(caller.open_circuits) == 0


def test_a_failed_fallback_is_not_cached_so_the_next_call_can_fall_back(breaker: Breaker) -> None:
    open_circuit(breaker, "flaky-backed")
    breaker.engine.runtime.script(INSPECTOR_NAME, b'{"errorMessage": "backup down", "errorType": "BackupDown"}', "Unhandled", times=1)
    started = counter(breaker)
    caller = client(breaker)
    with pytest.raises(CircuitOpenError) as once:
        caller.call("flaky-backed", {"order": 1})
    assert once.value.fallback_error["Error"] == "BackupDown" and not once.value.cached
    assert len(caller.open_circuits) == 0
    answered = caller.call("flaky-backed", {"order": 2})  # the fallback is healthy again: it answers
    assert answered.fallback is not None and answered.fallback.source == "function"
    assert answered.output["event"]["payload"] == {"order": 2} and started.hits == 2


def test_clients_can_share_a_cache(breaker: Breaker) -> None:
    shared = OpenCircuitCache()
    one, two = client(breaker, shared), client(breaker, shared)
    open_circuit(breaker, "flaky")
    started = counter(breaker)
    with pytest.raises(CircuitOpenError):
        one.call("flaky")
    with pytest.raises(CircuitOpenError) as cached:
        two.call("flaky")
    assert cached.value.cached and started.hits == 1


# -- asynchronous calls -----------------------------------------------------------------------------------


def test_an_asynchronous_call_carries_a_new_key_to_the_callee(breaker: Breaker) -> None:
    caller = client(breaker)
    first, second = caller.call_async("inspector", {"x": 1}, depth=2), caller.call_async("inspector", {"x": 1})
    assert first.idempotency_key != second.idempotency_key
    finished = caller.wait(first.execution_arn)
    output = json.loads(finished["output"])
    assert output["idempotency_key"] == first.idempotency_key and output["depth"] == 3
    assert json.loads(finished["input"])["idempotencyKey"] == first.idempotency_key


def test_an_asynchronous_call_keeps_the_key_it_is_given(breaker: Breaker) -> None:
    started = client(breaker).call_async("inspector", idempotency_key="order-42:attempt.1")
    assert started.idempotency_key == "order-42:attempt.1"
    assert json.loads(breaker.client.wait(started.execution_arn)["output"])["idempotency_key"] == "order-42:attempt.1"


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "é", 42, "key-1\n", "key-1\r\n"])
def test_a_malformed_key_starts_nothing(breaker: Breaker, key: object) -> None:
    started = counter(breaker, "StartExecution")
    with pytest.raises(InvalidInputError, match="idempotencyKey"):
        client(breaker).call_async("echo", idempotency_key=key)  # type: ignore[arg-type]
    assert started.hits == 0


def test_an_asynchronous_call_the_workflow_would_refuse_starts_nothing(breaker: Breaker) -> None:
    started = counter(breaker, "StartExecution")
    for callee, depth in [("echo", "3"), ("echo", -1), ("echo", 1.5), ("echo", True), ("echo", 2_000_000), ("", None)]:
        with pytest.raises(InvalidInputError, match="depth must be a whole number|callee must be a non-empty string"):
            client(breaker).call_async(callee, depth=depth)  # type: ignore[arg-type]
    assert started.hits == 0


def test_an_asynchronous_call_to_an_unknown_callee_starts_nothing(breaker: Breaker) -> None:
    started = counter(breaker, "StartExecution")
    with pytest.raises(UnknownCalleeError, match="not registered"):
        client(breaker).call_async("nosuch")
    assert started.hits == 0


def test_a_callee_reads_its_key_from_the_client_context() -> None:
    from types import SimpleNamespace

    def context(custom: object) -> SimpleNamespace:
        return SimpleNamespace(client_context=SimpleNamespace(custom=custom))

    assert idempotency_key_from_context(context({"idempotencyKey": "k-1", "breakerDepth": 2})) == "k-1"
    for custom in (None, {}, {"idempotencyKey": 7}, {"idempotencyKey": "has space"}):
        assert idempotency_key_from_context(context(custom)) is None
    assert idempotency_key_from_context(SimpleNamespace(client_context=None)) is None


KEYS = ["k", "a" * 128, "a:b.c_d-E9", "", "a" * 129, "key-1\n", "key-1\r", "\nkey-1", "has space", "caf\u00e9", "key-1\u2028", "\u0661"]


def test_the_client_accepts_exactly_the_keys_the_workflow_accepts(breaker: Breaker) -> None:
    """The workflow (its JavaScript regex, on the engine as on AWS) and the client judge every key alike."""
    for key in KEYS:
        refused = breaker.run({"callee": "echo", "idempotencyKey": key}).error == "CircuitBreaker.InvalidInput"
        try:
            check_idempotency_key(key)
        except InvalidInputError:
            assert refused, f"the client refuses {key!r}, which the workflow accepts"
        else:
            assert not refused, f"the client accepts {key!r}, which the workflow refuses"
    assert breaker.run({"callee": "echo", "idempotencyKey": "key-1\n"}).error == "CircuitBreaker.InvalidInput"


def test_the_cli_says_when_a_fallback_answered(breaker: Breaker, endpoint: str) -> None:
    open_circuit(breaker, "flaky-static")
    code, out, err = run_cli(endpoint, "call", "flaky-static", "-p", '{"order": 1}')
    assert code == 0 and json.loads(out) == STATIC_ANSWER
    assert "answered by the static fallback instead of the callee (CircuitBreaker.CircuitOpen)" in err
    assert "circuit of flaky-static is OPEN: retry after" in err
    code, out, _ = run_cli(endpoint, "call", "flaky-static", "--json")
    answered = json.loads(out)
    assert answered["output"] == STATIC_ANSWER and answered["fallback"]["source"] == "static"
    code, out, _ = run_cli(endpoint, "call", "echo", "--json", "-p", "[1]")
    assert json.loads(out)["fallback"] is None
