"""The workflow's input document as its ``Check input`` state accepts it: the same rules, in Python.

A call nobody waits for must be checked before it starts: the workflow refuses a malformed input with
``CircuitBreaker.InvalidInput``, which an asynchronous call reports to nobody and never sends to the
dead-letter queue. The client (``call_async``) and ``breaker redrive`` check here first; the messages
are the workflow's own words. The key pattern is matched whole (``\\Z``, ``fullmatch``): Python's
``$`` also matches before a final newline, where the workflow's JavaScript regex does not.
"""

from __future__ import annotations

import math
import re
from typing import Any

from circuit_breaker.core.record import CIRCUIT_KEY_PATTERN

#: What the workflow accepts as ``idempotencyKey`` (its ``Check input`` state: ``/^[A-Za-z0-9_.:-]{1,128}$/``,
#: where JavaScript's ``$`` is the very end).
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}\Z"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
#: The largest ``depth`` the workflow accepts (a call chain is stopped far earlier, at ``max_depth``).
MAX_DEPTH_VALUE = 1_000_000


def _shown(value: Any) -> str:
    """A value in a message as the workflow shows it: JSON-ish, at most 200 characters."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:200]


def valid_idempotency_key(key: Any) -> bool:
    """Whether the workflow accepts ``key`` as an ``idempotencyKey``."""
    return isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key) is not None


def idempotency_key_problem(key: Any) -> str | None:
    """The workflow's message for a key it refuses, or ``None``."""
    if valid_idempotency_key(key):
        return None
    return f"idempotencyKey must be 1 to 128 letters, digits, _ . : or - (the client makes one per asynchronous call), got {_shown(key)}"


def depth_problem(depth: Any) -> str | None:
    """The workflow's message for a ``depth`` it refuses (a number that is not whole, from 0 to 1,000,000), or ``None``."""
    number = isinstance(depth, (int, float)) and not isinstance(depth, bool)
    if number and 0 <= depth <= MAX_DEPTH_VALUE and depth == math.floor(depth):  # NaN and infinities fail the range
        return None
    shown = "a number out of range" if number and not -1e300 <= depth <= 1e300 else _shown(depth)
    return f"depth must be a whole number of 0 or more (omit it outside a call chain), got {shown}"


def input_problem(document: Any) -> str | None:
    """Why the workflow's ``Check input`` would refuse ``document`` as ``InvalidInput``, or ``None`` if it passes.

    (An unknown callee and a depth at the limit are refused too, by the registry the deployment knows.)
    """
    if not isinstance(document, dict):
        kind = "null" if document is None else f"a {type(document).__name__}"
        return f'the input must be a JSON object such as {{"callee": "payment", "payload": {{}}}}, got {kind}'
    callee = document.get("callee")
    if not isinstance(callee, str) or not callee:
        return f"callee must be a non-empty string naming a registered callee, got {_shown(callee) if 'callee' in document else 'nothing'}"
    if "depth" in document and (problem := depth_problem(document["depth"])) is not None:
        return problem
    if "idempotencyKey" in document and (problem := idempotency_key_problem(document["idempotencyKey"])) is not None:
        return problem
    if "key" in document:
        return circuit_key_problem(document["key"])
    return None


def circuit_key_problem(key: Any) -> str | None:
    """The workflow's message for a circuit ``key`` it refuses, or ``None``."""
    if isinstance(key, str) and CIRCUIT_KEY_PATTERN.fullmatch(key):
        return None
    return f"key must be 1 to 64 letters, digits, _ . : or - (the id of a tenant, say), got {_shown(key)}"


__all__ = [
    "IDEMPOTENCY_KEY_PATTERN",
    "circuit_key_problem",
    "MAX_DEPTH_VALUE",
    "depth_problem",
    "idempotency_key_problem",
    "input_problem",
    "valid_idempotency_key",
]
