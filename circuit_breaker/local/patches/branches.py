"""Parallel branches and Map iterations as AWS runs them: how their failures pass on and are recorded.

A failure that ends a branch or an iteration keeps its error name on its way to the Parallel or Map
state: moto 5.2.5 wraps the name in a "custom" error name, which refuses any ``States.`` name, so a
``States.QueryEvaluationError`` (or ``States.Timeout``...) in a branch ended the whole execution with a
``States.Runtime`` about "Custom Error Names". AWS passes it on (recorded:
``../shared/parity/localstack-sfn/v2/states_variables/test_error_output.snapshot.json``, ``test_map_catch_error[MAP_CATCH_ERROR_OUTPUT_WITH_RETRY]``).

The Task state that fails a branch is recorded as aborted.

When a Task state in a Parallel branch fails and nothing in the branch catches it, AWS records the
Task's failure (``TaskFailed``), then ``TaskStateAborted`` for the Task state (which never exits), then
the Parallel state's own failure; the abort does not move the history's chain (the Parallel's next event
still follows the ``TaskFailed``). Recorded by AWS:
``../shared/parity/localstack-sfn/v2/states_variables/test_error_output.snapshot.json`` (``test_parallel_catch_error``) and ``../shared/parity/localstack-sfn/v2/callback/test_callback.snapshot.json``.
moto 5.2.5 records no abort. A Pass, Choice or Fail state has no "aborted" event type, and AWS records
none for them (``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``, ``test_parallel_state_fail``).
"""

from __future__ import annotations

from typing import Any

#: The state types whose failure in a branch AWS records as aborted, by their entered event type.
_ABORTED_BY_ENTERED = {"TaskStateEntered": "TaskStateAborted"}


def _name(event_type: Any) -> str:
    return getattr(event_type, "value", event_type)


def record_failed_state_aborted(env: Any, program: Any) -> None:
    """Add ``<State>Aborted`` for the state that ended ``env``'s branch with an uncaught error."""
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError

    if not isinstance(env.program_state(), ProgramError):
        return
    # The context object names the state being run (moto clears next_state_name when the program fails).
    entered = env.states.context_object.context_object_data.get("State") or {}
    state = program.states.states.get(entered.get("Name"))
    if state is None:
        return
    aborted = _ABORTED_BY_ENTERED.get(_name(state.state_entered_event_type))
    if aborted is None:
        return
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType(aborted),
        update_source_event_id=False,
    )


def passed_on_error_name(error_name: str | None) -> Any:
    """The error name of a failure leaving a branch or iteration: a ``States.`` name stays a States error.

    Stands in for ``CustomErrorName`` where moto builds the Parallel's or Map's failure from the error
    that ended a branch or an iteration.
    """
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        ILLEGAL_CUSTOM_ERROR_PREFIX,
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    name: Any
    if error_name is None or not error_name.startswith(ILLEGAL_CUSTOM_ERROR_PREFIX):
        name = CustomErrorName(error_name=error_name)
    else:
        try:
            name = StatesErrorName.from_name(error_name)
        except ValueError:
            name = ErrorName(error_name=error_name)
    name.breaker_passed_on = True
    return name


def branch_thread_routine(self: Any) -> None:
    """Replaces ``BranchWorker._thread_routine``: run the branch, record an aborted failing state, report."""
    self._program.eval(self.env)
    record_failed_state_aborted(self.env, self._program)
    self._branch_worker_comm.on_terminated(env=self.env)


def _event(env: Any, event_id: int) -> dict[str, Any] | None:
    events = env.event_manager._history_event_list
    if 0 < event_id <= len(events) and events[event_id - 1].get("id") == event_id:
        return events[event_id - 1]
    return next((event for event in events if event.get("id") == event_id), None)


def _type_of(event: dict[str, Any] | None) -> str | None:
    return None if event is None else _name(event.get("type"))


def map_exit_follows_the_map_run_start(original: Any) -> Any:
    """Wraps ``StateMap._eval_execution``: after a distributed Map's run, the state's exit follows ``MapRunStarted``.

    AWS chains ``MapRunSucceeded`` to ``MapRunStarted`` and ``MapStateSucceeded`` to ``MapRunSucceeded``, and
    since late 2024 the ``MapStateExited`` to ``MapRunStarted`` (every recording from November 2024 on;
    earlier ones chained it to ``MapRunSucceeded``): ``../shared/parity/localstack-sfn/v2/assign/test_assign_reference_variables.snapshot.json``
    (``test_reference_in_map_state``) and the distributed Map tests of ``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``.
    """

    def _eval_execution(self: Any, env: Any) -> None:
        original(self, env)
        context = env.event_history_context
        succeeded = _event(env, context.last_published_event_id)
        if _type_of(succeeded) != "MapStateSucceeded":
            return
        run = _event(env, int(succeeded.get("previousEventId", 0)))
        if _type_of(run) != "MapRunSucceeded":
            return
        context.source_event_id = int(run.get("previousEventId", 0))

    return _eval_execution
