"""JSONata as Step Functions evaluates it, on ``jsonata-python``.

Step Functions adds ``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse`` to
JSONata and rejects ``$eval``. Values reach an expression as real bindings (``$states`` and the
workflow variables), never as text spliced into it, so a string holding quotes or backslashes (a
Lambda error's cause, say) evaluates like any other string.

Step Functions runs the JavaScript JSONata 2.0.6; :mod:`circuit_breaker.local.jsonata_js` makes
jsonata-python answer as it does (numbers as doubles, ``$string`` as ``JSON.stringify``, ...), and
bindings go in and results come out as ``JSON.parse`` and ``JSON.stringify`` would hand them over.
``tests/engine/test_jsonata_differential.py`` checks the workflow's expressions against the reference.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import re
import threading
import uuid
from functools import lru_cache
from typing import Any, Mapping

from jsonata import Jsonata
from jsonata.utils import Utils

from circuit_breaker.local import jsonata_js
from circuit_breaker.local.jsonata_regex import compile_js

jsonata_js.install()


class QueryEvaluationError(Exception):
    """A JSONata expression failed; Step Functions reports it as ``States.QueryEvaluationError``."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        """JSONata's error code (``T1006``...), when JSONata raised the error."""


_HASH_ALGORITHMS = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != math.floor(value):
        raise QueryEvaluationError(f"{name} must be an integer, got {value!r}")
    return int(value)


def sfn_partition(array: Any, size: Any) -> list[list[Any]]:
    """``$partition(array, chunkSize)``: split an array into chunks of ``chunkSize`` items."""
    if not isinstance(array, list):
        raise QueryEvaluationError("$partition expects an array as its first argument")
    chunk = _whole(size, "$partition's chunk size")
    if chunk < 1:
        raise QueryEvaluationError("$partition's chunk size must be 1 or more")
    return [array[start : start + chunk] for start in range(0, len(array), chunk)]


def sfn_range(first: Any, last: Any, step: Any) -> list[int]:
    """``$range(first, last, step)``: integers from ``first`` to ``last`` inclusive, ``step`` apart.

    A JSONata sequence, as AWS recorded it: ``$range(1, 9, 9)`` is ``1``, not ``[1]``.
    """
    start, stop, increment = (_whole(v, f"$range's {n}") for v, n in ((first, "first"), (last, "last"), (step, "step")))
    if increment == 0:
        raise QueryEvaluationError("$range's step must not be 0")
    values = list(range(start, stop + (1 if increment > 0 else -1), increment))
    if len(values) > 1000:
        raise QueryEvaluationError("$range may return at most 1000 items")
    return Utils.create_sequence_from_iter(values)


def sfn_hash(value: Any, algorithm: Any) -> str:
    """``$hash(value, algorithm)``: hex digest of a string with MD5, SHA-1, SHA-256, SHA-384 or SHA-512."""
    if not isinstance(value, str):
        raise QueryEvaluationError("$hash expects a string to hash")
    digest = _HASH_ALGORITHMS.get(algorithm)
    if digest is None:
        raise QueryEvaluationError(f"$hash supports {', '.join(_HASH_ALGORITHMS)}, got {algorithm!r}")
    return digest(value.encode("utf-8")).hexdigest()


def sfn_random(seed: Any = None) -> float:
    """``$random([seed])``: a number from 0 (inclusive) to 1 (exclusive), repeatable with a seed."""
    if seed is None:
        return random.random()
    return random.Random(_whole(seed, "$random's seed")).random()


def sfn_uuid() -> str:
    """``$uuid()``: a version 4 UUID."""
    return str(uuid.uuid4())


def sfn_parse(text: Any) -> Any:
    """``$parse(json)``: the value a JSON string holds."""
    if not isinstance(text, str):
        raise QueryEvaluationError("$parse expects a JSON string")
    try:
        return _to_jsonata(jsonata_js.to_reference(json.loads(text, parse_constant=_no_constant)))
    except (json.JSONDecodeError, ValueError, OverflowError) as error:
        raise QueryEvaluationError(f"$parse could not read its argument as JSON: {error}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def sfn_eval(*_args: Any) -> Any:
    """``$eval`` is not available in Step Functions."""
    raise QueryEvaluationError("The JSONata function $eval is not supported by Step Functions")


_FUNCTIONS = {
    "partition": sfn_partition,
    "range": sfn_range,
    "hash": sfn_hash,
    "random": sfn_random,
    "uuid": sfn_uuid,
    "parse": sfn_parse,
    "eval": sfn_eval,
}


def _to_jsonata(value: Any) -> Any:
    """JSON null as JSONata's null; a bare ``None`` binding would read as *undefined*."""
    return Utils.NULL_VALUE if value is None else value


_compile_lock = threading.Lock()


@lru_cache(maxsize=4096)
def _compiled(expression: str) -> Jsonata:
    """Parse once per expression (parsing costs more than evaluating); the parse tree is never mutated."""
    with _compile_lock:
        compiled = Jsonata(expression, compile_js)  # /regex/ literals as JavaScript's RegExp
        compiled.set_output_convert_nulls(False)
        for name, function in _FUNCTIONS.items():
            compiled.register_lambda(name, function)
        return compiled


_STATES_FIELD = re.compile(r"\$states\.([A-Za-z_]\w*)")
_STATES_WHOLE = re.compile(r"\$states(?!\.[A-Za-z_])")


@lru_cache(maxsize=4096)
def _states_fields(expression: str) -> frozenset[str] | None:
    """The ``$states`` fields an expression reads, or None when it may read them all (``$string($states)``)."""
    if _STATES_WHOLE.search(expression):
        return None
    return frozenset(_STATES_FIELD.findall(expression))


def _read_bindings(expression: str, bindings: Mapping[str, Any]) -> dict[str, Any]:
    """The bindings the expression can read, as the reference would hold them.

    Converting a value (a 256 KB payload, say) costs a walk through it, so only what the expression
    names is converted: JSONata can reach a variable only by writing ``$name`` (``$eval`` is refused).
    """
    read: dict[str, Any] = {}
    for name, value in bindings.items():
        if "$" + name not in expression:
            continue
        if name == "states" and isinstance(value, Mapping):
            fields = _states_fields(expression)
            if fields is not None:
                value = {field: value[field] for field in fields if field in value}
        read[name] = _to_jsonata(jsonata_js.to_reference(value))
    return read


def evaluate(expression: str, bindings: Mapping[str, Any]) -> tuple[bool, Any]:
    """Evaluate ``expression`` with ``bindings`` (names without ``$``).

    Bindings are JSON values, read as the reference reads parsed JSON (``16.0`` is ``16``, 2^53 + 1
    is 2^53). Returns ``(defined, value)``: ``defined`` is False when the expression produced nothing
    (JSONata's *undefined*), which Step Functions distinguishes from ``null``; the value is what the
    reference's ``JSON.stringify`` would write (a function is undefined, ``1e21`` stays a float).
    Raises :class:`QueryEvaluationError` with JSONata's message when the expression fails.
    """
    try:
        # One instance per evaluation, sharing the parse tree: evaluate() stamps the time for $millis()
        # on the instance, and $millis() reads it from the thread's current instance.
        instance = copy.copy(_compiled(expression))
        Jsonata.CURRENT.jsonata = instance
        return jsonata_js.from_reference(instance.evaluate(None, _read_bindings(expression, bindings)))
    except QueryEvaluationError:
        raise
    except Exception as error:  # jsonata-python raises JException, ValueError, TypeError, ...
        raise QueryEvaluationError(str(error) or type(error).__name__, getattr(error, "error", None)) from None
