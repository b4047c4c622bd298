"""The client's memory of open circuits: a call to a circuit known to be open costs no execution.

Seed 000's idea (a Lambda extension keeps circuit states in memory so the function skips the network)
applied to the caller: after an execution answers ``CircuitOpen`` or ``CircuitIsolated``, the client
remembers the error until the circuit's ``retryAfter`` and raises it again locally for further calls
to that callee of that breaker, without starting an execution (no request charge, no DynamoDB read,
no round trip). The error it raises says so (``error.cached``).

How long an entry lives:

- ``CircuitOpen``: until its ``retryAfter`` (the end of the break, or of the probe in flight). An
  operator's reset in the meantime reaches a caching client when the break would have ended, at the
  latest (``max_ttl_seconds`` shortens that for every entry).
- ``CircuitIsolated``: an operator decides when an isolation ends, so an entry lives at most
  ``isolation_ttl_seconds`` (:data:`ISOLATION_TTL_SECONDS`, 5 s), or until the isolation's own end if
  that is sooner: a ``breaker reset`` reaches every caching client within that time.
- An error without a usable ``retryAfter`` (none, or already past) is not remembered.

Only errors are remembered: a fallback answer is an answer (the caller got one) and is never cached. Nor is
the error of a callee that has a fallback (its cause carries ``fallbackError``: the fallback failed this
once): the next call may be answered by the fallback, so it must reach the workflow.
The cache is bounded (least recently used entries go first), thread-safe, and shareable by several
clients (entries are keyed by state machine and callee).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from circuit_breaker.core.record import KEY_SEPARATOR, circuit_name
from circuit_breaker.core.errors import BreakerError, CircuitIsolatedError, CircuitOpenError

#: How long an isolation is remembered at most: how soon a ``breaker reset`` reaches caching clients.
ISOLATION_TTL_SECONDS = 5.0
#: How many circuits one cache remembers (the least recently used are forgotten first).
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class _Entry:
    error: BreakerError
    until: float


@dataclass
class OpenCircuitCache:
    """Open and isolated circuits as the last execution found them, each until it may let calls through.

    Settings are checked when built; ``clock`` (epoch seconds, the same clock as ``retryAfter``) is for tests.
    """

    max_entries: int = MAX_ENTRIES
    isolation_ttl_seconds: float = ISOLATION_TTL_SECONDS
    max_ttl_seconds: float | None = None
    """Forget every entry after this long, whatever its ``retryAfter`` (``None``: no cap)."""
    clock: Callable[[], float] = time.time
    _entries: OrderedDict[tuple[str, str], _Entry] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_entries, bool) or not isinstance(self.max_entries, int) or self.max_entries < 1:
            raise ValueError(f"OpenCircuitCache.max_entries must be a whole number >= 1, got {self.max_entries!r}")
        if not _positive(self.isolation_ttl_seconds):
            raise ValueError(f"OpenCircuitCache.isolation_ttl_seconds must be a number of seconds > 0, got {self.isolation_ttl_seconds!r}")
        if self.max_ttl_seconds is not None and not _positive(self.max_ttl_seconds):
            raise ValueError(f"OpenCircuitCache.max_ttl_seconds must be a number of seconds > 0 or None, got {self.max_ttl_seconds!r}")

    def remember(self, breaker: str, error: BreakerError) -> bool:
        """Remember ``error`` if it says the circuit refuses calls for a while; returns whether it did.

        An error whose fallback failed (``error.fallback_error``) is not remembered: the callee has a
        fallback, which may answer the next call.
        """
        callee = error.callee
        if not isinstance(callee, str) or error.fallback_error is not None:
            return False
        key = error.field("key")
        circuit = circuit_name(callee, key if isinstance(key, str) else None)
        now = self.clock()
        until = self._until(error, now)
        if until is None or until <= now:
            return False
        with self._lock:
            self._entries[(breaker, circuit)] = _Entry(error, until)
            self._entries.move_to_end((breaker, circuit))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return True

    def check(self, breaker: str, callee: str, key: str | None = None) -> None:
        """Raise the remembered error (a fresh copy, ``cached=True``) if the circuit (``callee``'s, or its ``key``'s)
        still refuses calls."""
        key = (breaker, circuit_name(callee, key))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            if entry.until <= self.clock():
                del self._entries[key]
                return
            self._entries.move_to_end(key)
        raise cached_copy(entry.error)

    def forget(self, breaker: str | None = None, callee: str | None = None) -> None:
        """Forget one callee's circuits (its keys' too), every circuit of one breaker, or everything."""
        with self._lock:
            mine = lambda circuit: callee is None or circuit == callee or circuit.startswith(callee + KEY_SEPARATOR)  # noqa: E731
            for key in [k for k in self._entries if (breaker is None or k[0] == breaker) and mine(k[1])]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _until(self, error: BreakerError, now: float) -> float | None:
        retry_after = error.field("retryAfter")
        has_end = _number(retry_after)
        if isinstance(error, CircuitIsolatedError):
            until = now + self.isolation_ttl_seconds
            if has_end:
                until = min(until, float(retry_after))
        elif isinstance(error, CircuitOpenError) and has_end and error.state != "RAMPING":
            # A ramp lets a growing share through: the next call may well pass, so it is never remembered.
            until = float(retry_after)
        else:
            return None
        if self.max_ttl_seconds is not None:
            until = min(until, now + self.max_ttl_seconds)
        return until


def cached_copy(error: BreakerError) -> BreakerError:
    """The same typed error for a call the cache answered: no execution ran, so no attempt was made."""
    cause = {**error.cause, "attempts": 0} if isinstance(error.cause, dict) else error.cause
    return type(error)(error.error, cause, error.execution_arn, cached=True)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) < 1e15


def _positive(value: object) -> bool:
    return _number(value) and float(value) > 0  # type: ignore[arg-type]


__all__ = ["ISOLATION_TTL_SECONDS", "MAX_ENTRIES", "OpenCircuitCache", "cached_copy"]
