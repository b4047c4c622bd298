"""Failures recorded as AWS records them: evaluation failures (``States.QueryEvaluationError``), causes.

AWS records a failing JSONata expression as an ``EvaluationFailed`` event naming the state and the
field, as a path into the state's definition (``Output``, ``Output/result``, ``Assign/result``,
``Arguments/FunctionName``), its cause saying at which event the state was entered. The event is
chained to the event *before* the state was entered (its ``previousEventId`` is the entered event's
own previous id), and the events after it follow it. A Task state records it once (moto's task
failure handling would record it a second time). Recorded by AWS:
``../shared/parity/localstack-sfn/v2/assign/test_assign_reference_variables.snapshot.json`` (``test_undefined_reference``),
``../shared/parity/localstack-sfn/v2/states_variables/test_error_output.snapshot.json`` and, for a value an expression produced but the state cannot
use (a Wait state's timestamp), ``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json`` (``test_wait_timestamp_jsonata``),
where the event follows the entered event as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

#: The names of the state fields whose expressions moto evaluates, matched against the class holding them.
_STATE_FIELDS = (
    "Arguments", "Output", "Assign", "Parameters", "ResultSelector", "Items", "ItemSelector", "TimeoutSeconds",
    "HeartbeatSeconds", "MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage", "Seconds",
    "Timestamp", "Condition", "Error", "Cause",
)
#: Classes inside a field (its bindings and values) that must not restart the field's path.
_INSIDE_A_FIELD = ("AssignDeclBinding", "AssignTemplate")


@dataclass(frozen=True)
class EnteredState:
    """The event that entered the state being run, and the event before it."""

    event_id: int
    previous_event_id: int


def state_field_name(self: Any) -> str | None:
    """Replaces ``EvalComponent._field_name``: the state field (``Output``, ``Arguments``...) being evaluated.

    moto names every component by its class (``JSONataTemplateValueTerminalStringJSONata``), so a failure's
    ``location`` and cause named a Python class; AWS names the field of the state definition.
    """
    name = type(self).__name__
    if name.startswith(_INSIDE_A_FIELD):
        return None
    for field in _STATE_FIELDS:
        if name.startswith(field):
            return field
    return None


def binding_field_name(self: Any) -> None:
    """Replaces ``JSONataTemplateBinding._field_name``: a binding extends its field's path (see :func:`within_binding`)."""
    return None


def within_binding(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a binding's ``_eval_body``: while its value is evaluated, the field path ends with its key.

    ``{"Output": {"result": "{% ... %}"}}`` fails at ``Output/result``, as AWS's ``location`` says.
    """

    def _eval_body(self: Any, env: Any) -> None:
        parent = getattr(env, "next_field_name", None)
        env.next_field_name = f"{parent}/{self.identifier}" if parent else self.identifier
        try:
            original(self, env)
        finally:
            env.next_field_name = parent

    return _eval_body


def records_entered_state(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``CommonStateField._eval_state_input`` (run right after the state's entered event).

    Remembers the entered event (and the one before it) on the environment, for the failure's cause and chain.
    """

    def _eval_state_input(self: Any, env: Any) -> None:
        event_id = env.event_history_context.source_event_id
        env.breaker_entered_state = EnteredState(event_id=event_id, previous_event_id=_previous_of(env, event_id))
        original(self, env)

    return _eval_state_input


def _previous_of(env: Any, event_id: int) -> int:
    events = env.event_manager._history_event_list
    if 0 < event_id <= len(events) and events[event_id - 1].get("id") == event_id:
        return int(events[event_id - 1].get("previousEventId", 0))
    return next((int(e.get("previousEventId", 0)) for e in events if e.get("id") == event_id), 0)


def query_failure(env: Any, message: str, *, location: str | None = None, expression: bool = True) -> Exception:
    """Record AWS's ``EvaluationFailed`` event and return the exception that fails the state with it.

    ``location`` defaults to the field being evaluated; ``expression`` is false for a value an expression
    produced that the state then refused, whose event follows the history's last event.
    """
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    field = location or getattr(env, "next_field_name", None)
    details = EvaluationFailedEventDetails(error=error.error_name, cause=message)
    if field:
        details["location"] = field
    failure = FailureEvent(
        env=env,
        error_name=error,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=details),
    )
    entered: EnteredState | None = getattr(env, "breaker_entered_state", None)
    recorded = EvaluationFailedEventDetails(
        error=error.error_name,
        cause=f"An error occurred while executing the state '{failure.state_name}' "
        f"(entered at the event id #{failure.source_event_id}). {message}",
        state=failure.state_name,
    )
    if field:
        recorded["location"] = field
    if expression:
        env.event_history_context.source_event_id = entered.previous_event_id if entered is not None else 0
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=recorded),
    )
    failure.breaker_recorded = True
    return FailureEventException(failure_event=failure)


def is_recorded(failure_event: Any) -> bool:
    """Whether ``failure_event``'s own history event was already recorded where it happened."""
    return bool(getattr(failure_event, "breaker_recorded", False))


def passes_inner_failures(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``FailureEventException.get_execution_failed_event_details``.

    A failure that ended a Parallel branch or a Map iteration (its error name made by
    :func:`circuit_breaker.local.patches.branches.passed_on_error_name`) already carries the execution failure the
    inner program wrote (its cause saying which inner state failed, at which event); moto decorated that
    cause a second time with the outer state (``... executing the state 'None' ... executing the state
    'Fallback' ...``). AWS passes it on as it is.
    """

    def get_execution_failed_event_details(self: Any) -> Any:
        inner = (self.failure_event.event_details or {}).get("executionFailedEventDetails")
        if inner is not None and getattr(self.failure_event.error_name, "breaker_passed_on", False):
            return dict(inner)
        return original(self)

    return get_execution_failed_event_details


def execution_eval_state(self: Any, env: Any) -> None:
    """Replaces ``ExecutionState._eval_state`` (Task, Map, Parallel): moto's retry-and-catch loop, recording
    a failure's event only if it was not recorded where it happened (an ``EvaluationFailed``)."""
    env.states.context_object.context_object_data["State"]["RetryCount"] = 0
    while env.is_running():
        try:
            self._evaluate_with_timeout(env)
            break
        except Exception as ex:
            failure_event = self._from_error(env=env, ex=ex)
            if not is_recorded(failure_event):
                env.event_manager.add_event(
                    context=env.event_history_context,
                    event_type=failure_event.event_type,
                    event_details=failure_event.event_details,
                )
            error_output = self._construct_error_output_value(failure_event=failure_event)
            env.states.set_error_output(error_output)
            env.states.set_result(error_output)
            if self.retry and self._handle_retry(env=env, failure_event=failure_event) == _can_retry():
                continue
            if self.catch:
                self._handle_catch(env=env, failure_event=failure_event)
                if env.stack[-1] == _caught():
                    break
            self._handle_uncaught(env=env, failure_event=failure_event)


def _can_retry() -> Any:
    from moto.stepfunctions.parser.asl.component.common.retry.retry_outcome import RetryOutcome

    return RetryOutcome.CanRetry


def _caught() -> Any:
    from moto.stepfunctions.parser.asl.component.common.catch.catch_outcome import CatchOutcome

    return CatchOutcome.Caught


def jsonata_timestamp_failure(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``Timestamp._create_failure_event`` (a Wait state's timestamp that is not ISO-8601).

    In JSONata, AWS fails the state with ``States.QueryEvaluationError`` at ``Timestamp`` ("The Timestamp
    field cannot be parsed as an ISO-8601 extended offset date-time format string: <value>"); moto's
    ``States.Runtime`` about "the Timestamp parameter" is JSONPath's (kept there, as AWS records it).
    """

    def _create_failure_event(self: Any, env: Any, timestamp_str: str) -> Any:
        from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata

        if not isinstance(self.string, StringJSONata):
            return original(self, env, timestamp_str)
        message = f"The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {timestamp_str}"
        return query_failure(env, message, location="Timestamp", expression=False).failure_event

    return _create_failure_event


def names_the_entered_event(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``FailureEvent.__init__``: a failure's cause names the event that entered its state.

    AWS's causes say "An error occurred while executing the state 'S' (entered at the event id #N)",
    N always the ``StateEntered`` event of S (every such cause AWS recorded in ../shared/parity); moto
    named the history's last event, so a Task failing after its TaskSucceeded named that one.
    """

    def __init__(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        entered: EnteredState | None = getattr(env, "breaker_entered_state", None)
        if entered is not None:
            self.source_event_id = entered.event_id

    return __init__


def states_failure(env: Any, error: str, event_type: str, cause: str, **details: Any) -> Exception:
    """The exception that fails the running state with the ``States.`` ``error`` (``StatesRuntime``...).

    ``event_type`` is the history event the failure becomes (``TaskFailed``, ``ExecutionFailed``);
    ``details`` are its extra fields (a task's ``resource`` and ``resourceType``).
    """
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    name = StatesErrorName(typ=getattr(StatesErrorNameType, error))
    field = event_type[0].lower() + event_type[1:] + "EventDetails"
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType(event_type),
            event_details=EventDetails(**{field: {"error": name.error_name, "cause": cause, **details}}),
        )
    )
