"""The client's open-circuit cache on its own: what it remembers, for how long, bounded and thread-safe.

The cache through the real client and workflow is in tests/client/test_client.py.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from circuit_breaker.core.errors import (
    BreakerError,
    CalleeFailedError,
    CircuitIsolatedError,
    CircuitOpenError,
    StoreUnavailableError,
)
from circuit_breaker.client.open_circuits import ISOLATION_TTL_SECONDS, OpenCircuitCache

BREAKER = "arn:aws:states:us-east-1:123456789012:stateMachine:breaker"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def open_error(callee: str = "payment", retry_after: Any = NOW + 30, state: str = "OPEN") -> CircuitOpenError:
    cause = {"callee": callee, "state": state, "retryAfter": retry_after, "attempts": 2}
    return CircuitOpenError(CircuitOpenError.error_name, cause, "arn:aws:states:us-east-1:123456789012:express:breaker:e1:x")


def isolated_error(callee: str = "payment", retry_after: Any = None) -> CircuitIsolatedError:
    return CircuitIsolatedError(CircuitIsolatedError.error_name, {"callee": callee, "reason": "incident 42", "retryAfter": retry_after, "attempts": 0})


def raised(cache: OpenCircuitCache, callee: str = "payment", breaker: str = BREAKER) -> BreakerError | None:
    try:
        cache.check(breaker, callee)
    except BreakerError as error:
        return error
    return None


def test_an_open_circuit_is_answered_from_memory_until_its_retry_after() -> None:
    clock = Clock()
    cache = OpenCircuitCache(clock=clock)
    original = open_error()
    assert cache.remember(BREAKER, original)
    first, second = raised(cache), raised(cache)
    assert isinstance(first, CircuitOpenError) and first is not original and first is not second  # a fresh error per call
    assert first.cached and not original.cached
    assert (first.callee, first.state, first.retry_after) == ("payment", "OPEN", NOW + 30)
    assert first.attempts == 0  # this call made none
    assert first.execution_arn == original.execution_arn  # the execution that said so
    assert "cached" in str(first)
    assert raised(cache, "other") is None and raised(cache, breaker=BREAKER + "2") is None  # per callee, per breaker
    clock.now = NOW + 29.9
    assert raised(cache) is not None
    clock.now = NOW + 30
    assert raised(cache) is None and len(cache) == 0  # the break is over: the next call goes through (and may probe)


def test_a_half_open_circuit_is_remembered_until_the_probe_lease_ends() -> None:
    cache = OpenCircuitCache(clock=Clock())
    assert cache.remember(BREAKER, open_error(state="HALF_OPEN", retry_after=NOW + 12))
    assert raised(cache).state == "HALF_OPEN"


def test_an_isolation_is_remembered_only_briefly_so_a_reset_propagates() -> None:
    clock = Clock()
    cache = OpenCircuitCache(clock=clock)
    assert cache.remember(BREAKER, isolated_error(retry_after=None))  # until reset
    assert isinstance(raised(cache), CircuitIsolatedError) and raised(cache).reason == "incident 42"
    clock.now = NOW + ISOLATION_TTL_SECONDS
    assert raised(cache) is None
    assert cache.remember(BREAKER, isolated_error(retry_after=NOW + ISOLATION_TTL_SECONDS + 2))  # ends sooner than the TTL
    clock.now = NOW + ISOLATION_TTL_SECONDS + 2
    assert raised(cache) is None
    assert cache.remember(BREAKER, isolated_error(retry_after=NOW + 3600))  # ends much later: the TTL still caps it
    clock.now += ISOLATION_TTL_SECONDS
    assert raised(cache) is None


@pytest.mark.parametrize(
    "error",
    [
        CalleeFailedError(CalleeFailedError.error_name, {"callee": "payment", "error": "Boom", "circuitOpened": True}),
        StoreUnavailableError(StoreUnavailableError.error_name, {"callee": "payment", "error": "DynamoDB.Throttled"}),
        open_error(retry_after=None),
        open_error(retry_after=NOW - 1),
        open_error(retry_after="soon"),
        open_error(retry_after=True),
        open_error(retry_after=float("nan")),
        CircuitOpenError(CircuitOpenError.error_name, "not JSON"),
    ],
    ids=["callee-failed", "store-unavailable", "no-retry-after", "past", "text", "bool", "nan", "no-cause"],
)
def test_only_errors_that_say_until_when_are_remembered(error: BreakerError) -> None:
    cache = OpenCircuitCache(clock=Clock())
    assert not cache.remember(BREAKER, error)
    assert raised(cache) is None


def test_max_ttl_caps_every_entry() -> None:
    clock = Clock()
    cache = OpenCircuitCache(clock=clock, max_ttl_seconds=2)
    cache.remember(BREAKER, open_error(retry_after=NOW + 300))
    clock.now = NOW + 2
    assert raised(cache) is None


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = OpenCircuitCache(max_entries=3, clock=Clock())
    for name in ("a", "b", "c"):
        cache.remember(BREAKER, open_error(name))
    assert raised(cache, "a") is not None  # a is now the most recently used
    cache.remember(BREAKER, open_error("d"))
    assert len(cache) == 3
    assert raised(cache, "b") is None  # b went first
    assert all(raised(cache, name) is not None for name in ("a", "c", "d"))


def test_forget() -> None:
    cache = OpenCircuitCache(clock=Clock())
    for breaker in (BREAKER, BREAKER + "2"):
        for name in ("a", "b"):
            cache.remember(breaker, open_error(name))
    cache.forget(BREAKER, "a")
    assert raised(cache, "a") is None and raised(cache, "b") is not None
    cache.forget(BREAKER + "2")
    assert raised(cache, "a", BREAKER + "2") is None and len(cache) == 1
    cache.forget()
    assert len(cache) == 0


def test_many_threads_share_one_cache() -> None:
    cache = OpenCircuitCache(max_entries=50, clock=Clock())
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(300):
                name = f"c{(worker * 7 + i) % 80}"
                cache.remember(BREAKER, open_error(name))
                error = raised(cache, name)
                assert error is None or (error.cached and error.callee == name)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(cache) == 50


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"max_entries": 0}, "max_entries"),
        ({"max_entries": True}, "max_entries"),
        ({"isolation_ttl_seconds": 0}, "isolation_ttl_seconds"),
        ({"isolation_ttl_seconds": "5"}, "isolation_ttl_seconds"),
        ({"max_ttl_seconds": -1}, "max_ttl_seconds"),
    ],
)
def test_settings_are_checked_when_built(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        OpenCircuitCache(**settings)


def test_the_error_of_a_callee_whose_fallback_failed_is_not_remembered() -> None:
    cache = OpenCircuitCache(clock=Clock())
    failed = {"Error": "BackupDown", "Cause": "backup down"}
    for error in (open_error(), isolated_error()):
        with_fallback = type(error)(error.error, {**error.cause, "fallbackError": failed}, error.execution_arn)
        assert cache.remember(BREAKER, with_fallback) is False
    assert len(cache) == 0 and raised(cache) is None
