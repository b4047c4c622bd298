"""JSONata in moto's executor: evaluated by :mod:`circuit_breaker.local.jsonata_engine`, failures as AWS reports them.

moto 5.2.5 has no JSONata engine (``_eval_jsonata`` is ``None``), splices variables into expressions as
unescaped text, and reports a failing expression as ``States.Runtime``. Here every expression is
evaluated with real bindings, and a failure is a catchable ``States.QueryEvaluationError``.
"""

from __future__ import annotations

from typing import Any

from circuit_breaker.local import jsonata_engine


def _bindings(env: Any) -> dict[str, Any]:
    store = env.variable_store
    bindings: dict[str, Any] = {**store._outer_scope, **store._inner_scope}
    bindings["states"] = dict(env.states._states_data)
    return bindings


def query_failure(env: Any, message: str) -> Exception:
    """The exception moto's executor turns into a ``States.QueryEvaluationError`` failure of the state.

    As on AWS, the failure is also recorded in the history as an ``EvaluationFailed`` event naming the
    state and the field (``location``) whose expression failed.
    """
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error.error_name, cause=message)
    field = getattr(env, "next_field_name", None)
    if field:
        details["location"] = field
    failure = FailureEvent(
        env=env,
        error_name=error,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=details),
    )
    recorded = EvaluationFailedEventDetails(
        error=error.error_name,
        cause=f"An error occurred while executing the state '{failure.state_name}' "
        f"(entered at the event id #{failure.source_event_id}). {message}",
        state=failure.state_name,
    )
    if field:
        recorded["location"] = field
    # AWS records the evaluation failure with previousEventId 0; the events after it follow it.
    env.event_history_context.source_event_id = 0
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=recorded),
    )
    return FailureEventException(failure_event=failure)


def evaluate(env: Any, expression: str) -> Any:
    """Evaluate ``expression`` against the execution's variables and ``$states``."""
    try:
        defined, value = jsonata_engine.evaluate(expression, _bindings(env))
    except jsonata_engine.QueryEvaluationError as error:
        raise query_failure(env, f"An error occurred while evaluating the JSONata expression '{expression}': {error}") from None
    if not defined:
        field = getattr(env, "next_field_name", None)
        where = f" specified for the field '{field}'" if field else ""
        raise query_failure(env, f"The JSONata expression '{expression}'{where} returned nothing (undefined).")
    return value


def string_jsonata_eval_body(self: Any, env: Any) -> None:
    """Replaces ``StringJSONata._eval_body``: a ``{% ... %}`` field."""
    env.stack.append(evaluate(env, self.expression))


def variable_sample_eval_body(self: Any, env: Any) -> None:
    """Replaces ``StringVariableSample._eval_body``: a bare ``$name`` reference."""
    env.stack.append(evaluate(env, self.expression))


#: Step Functions' names of the state fields whose expressions moto evaluates, by the class that holds them.
_STATE_FIELDS = (
    "Arguments", "Output", "Assign", "Parameters", "ResultSelector", "Items", "ItemSelector", "TimeoutSeconds",
    "HeartbeatSeconds", "MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage", "Seconds",
    "Timestamp", "Condition", "Error", "Cause",
)


def state_field_name(self: Any) -> str | None:
    """Replaces ``EvalComponent._field_name``: the state field (``Output``, ``Arguments``...) being evaluated.

    moto names every component by its class (``JSONataTemplateValueTerminalStringJSONata``), so a failure's
    ``location`` and cause named a Python class; AWS names the field of the state definition.
    """
    name = type(self).__name__
    for field in _STATE_FIELDS:
        if name.startswith(field):
            return field
    return None
