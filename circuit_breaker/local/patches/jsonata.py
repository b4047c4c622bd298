"""JSONata in moto's executor: evaluated by :mod:`circuit_breaker.local.jsonata_engine`, failures as AWS reports them.

moto 5.2.5 has no JSONata engine (``_eval_jsonata`` is ``None``), splices variables into expressions as
unescaped text, and reports a failing expression as ``States.Runtime``. Here every expression is
evaluated with real bindings, and a failure is a catchable ``States.QueryEvaluationError``.
"""

from __future__ import annotations

from typing import Any

from circuit_breaker.local import jsonata_engine
from circuit_breaker.local.patches.evaluation_failures import query_failure


def _bindings(env: Any) -> dict[str, Any]:
    store = env.variable_store
    bindings: dict[str, Any] = {**store._outer_scope, **store._inner_scope}
    bindings["states"] = dict(env.states._states_data)
    return bindings


def evaluate(env: Any, expression: str) -> Any:
    """Evaluate ``expression`` against the execution's variables and ``$states``."""
    field = getattr(env, "next_field_name", None)
    where = f" specified for the field '{field}'" if field else ""
    try:
        defined, value = jsonata_engine.evaluate(expression, _bindings(env))
    except jsonata_engine.QueryEvaluationError as error:
        # AWS's words, with JSONata's error code when there is one (recorded:
        # ../shared/parity/localstack-sfn/v2/intrinsic_functions/test_math_operations_jsonata.snapshot.json).
        reason = f"{error.code}: {error}" if error.code else str(error)
        raise query_failure(env, f"The JSONata expression '{expression}'{where} threw an error during evaluation. {reason}") from None
    if not defined:
        raise query_failure(env, f"The JSONata expression '{expression}'{where} returned nothing (undefined).")
    return value


def string_jsonata_eval_body(self: Any, env: Any) -> None:
    """Replaces ``StringJSONata._eval_body``: a ``{% ... %}`` field."""
    env.stack.append(evaluate(env, self.expression))


def variable_sample_eval_body(self: Any, env: Any) -> None:
    """Replaces ``StringVariableSample._eval_body``: a bare ``$name`` reference."""
    env.stack.append(evaluate(env, self.expression))
