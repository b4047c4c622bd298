"""How executions start, parse their definition, report their output and log, as on AWS."""

from __future__ import annotations

import copy
import json
import pickle
import re
import sys
import threading
import uuid
from typing import Any, Callable

from circuit_breaker.local.cloudwatch_logging import ExecutionLogSession

#: Each parsed definition, pickled (or the program itself when it cannot be pickled), by definition text.
_programs: dict[str, bytes | Any] = {}
_programs_lock = threading.Lock()


def cached_entrypoint(self: Any) -> Any:
    """Replaces ``ExecutionWorker._get_evaluation_entrypoint``: parse a definition once, copy it per execution.

    Components keep per-execution state (a Choice's next state, say): every execution needs its own copy.
    Unpickling the parsed program is about 7 times cheaper than ``copy.deepcopy`` of it (2 ms instead of
    15 ms of CPU for this workflow, holding the GIL), and runs outside the lock, so concurrent executions
    no longer start one at a time. A program that cannot be pickled is deep-copied as before.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = self._evaluation_details.state_machine_details.definition
    cached = _programs.get(definition)
    if cached is None:
        with _programs_lock:
            cached = _programs.get(definition)
            if cached is None:
                program = AmazonStateLanguageParser.parse(definition)[0]
                try:
                    cached = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
                except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
                    cached = program
                _programs[definition] = cached
    return pickle.loads(cached) if isinstance(cached, bytes) else copy.deepcopy(cached)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON value")


def check_execution_input(text: str) -> None:
    """Raise moto's ``InvalidExecutionInput`` unless ``text`` is JSON (RFC 8259: no NaN, no Infinity).

    Step Functions parses the input as strict JSON and refuses anything else; Python's parser would
    accept ``NaN``/``Infinity`` and hand on an output that is not JSON.
    """
    from moto.stepfunctions.exceptions import InvalidExecutionInput

    try:
        json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        return  # deep, but JSON: the execution copes with it (see deep_execution_threads)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None


def starts_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``start_execution``: the input must be JSON, and an execution started without a name gets a UUID."""

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, *args: Any, **kwargs: Any) -> Any:
        if execution_input is not None:
            check_execution_input(execution_input)
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, *args, **kwargs)

    return start_execution


#: Stack for the threads that run executions: deep (but valid) JSON is processed recursively.
EXECUTION_THREAD_STACK_BYTES = 256 * 1024 * 1024
#: Recursion the interpreter allows while the engine runs (a 256 KiB input nests at most ~130,000 deep).
ENGINE_RECURSION_LIMIT = 200_000
_stack_lock = threading.Lock()


def deep_execution_threads(self: Any) -> None:
    """Replaces ``ExecutionWorker.start``: the execution's thread gets a stack deep JSON fits in.

    A payload nested thousands of levels deep is valid JSON within Step Functions' 256 KiB limit, and
    AWS runs it; the executor copies and serialises values recursively, which Python's default
    recursion limit (1,000) and thread stack (8 MiB) cannot hold.
    """
    from moto.stepfunctions.parser.backend.execution_worker import TMP_THREADS

    if sys.getrecursionlimit() < ENGINE_RECURSION_LIMIT:
        sys.setrecursionlimit(ENGINE_RECURSION_LIMIT)
    with _stack_lock:
        previous = threading.stack_size(EXECUTION_THREAD_STACK_BYTES)
        try:
            thread = threading.Thread(target=self._execution_logic, daemon=True)
        finally:
            threading.stack_size(previous)
        TMP_THREADS.append(thread)
        thread.start()


def outputs_json(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``_reflect_execution_status``: a string or null output is described as JSON text, and the status comes last.

    moto marks the execution SUCCEEDED before it sets the output, so a DescribeExecution in between
    (likely with a large output) sees a succeeded execution without one. The original runs on a
    stand-in, and the real execution gets its output first and its status last.
    """

    def _reflect_execution_status(self: Any) -> None:
        execution = self.execution
        stand_in = copy.copy(execution)
        self.execution = stand_in
        try:
            original(self)
        finally:
            self.execution = execution
        output = stand_in.output
        if stand_in.exec_status == "SUCCEEDED" and (output is None or isinstance(output, str)):
            # DescribeExecution returns a str output verbatim (it takes it for JSON text): encode it; a null
            # output is the JSON text "null", not a missing output.
            output = json.dumps(output)
        execution.stop_date, execution.error, execution.cause, execution.output = (
            stand_in.stop_date, stand_in.error, stand_in.cause, output,
        )
        execution.exec_status = stand_in.exec_status

    return _reflect_execution_status


#: Execution ARNs as AWS writes them: ``...:execution:SM:NAME`` (Standard), ``...:express:SM:NAME:ID`` (Express).
EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:states:[-0-9a-zA-Z]+:(?P<account_id>[0-9]{12}):(execution|express):.+")


def express_arn(execution: Any) -> None:
    """An Express execution's ARN as AWS writes it: ``...:express:STATE_MACHINE:NAME:ID``."""
    # moto keeps the type a state machine was created with in ``type`` (its ``sm_type`` is always STANDARD).
    if getattr(execution.state_machine, "type", None) != "EXPRESS" or ":express:" in execution.exec_arn:
        return
    prefix, _, rest = execution.exec_arn.partition(":execution:")
    execution.exec_arn = execution.execution_arn = f"{prefix}:express:{rest}:{uuid.uuid4()}"


def logs_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``Execution.start``: Express executions get Express ARNs, and executions log to their log group."""

    def start(self: Any) -> None:
        express_arn(self)
        if self._cloud_watch_logging_session is None:
            self._cloud_watch_logging_session = ExecutionLogSession.for_execution(self)
        original(self)

    return start


def aws_context_object(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``ExecutionWorker._get_evaluation_environment``: ``$$.Execution`` as AWS fills it.

    moto puts the start time in as a Python datetime (so ``$$`` cannot be written as JSON and the
    execution's history cannot be read) and leaves out ``RedriveCount``. AWS writes the start time as
    ISO 8601 text with milliseconds and ``Z`` (``2023-11-21T06:27:31.545Z``) and counts redrives from 0,
    except in a synchronous Express execution (StartSyncExecution), which cannot be redriven and whose
    ``$$.Execution`` has no ``RedriveCount`` (recorded by AWS the same day for both kinds of Express
    execution: ``../shared/parity/localstack-sfn/v2/express/test_express_sync.snapshot.json`` and ``../shared/parity/localstack-sfn/v2/express/test_express_async.snapshot.json``,
    ``test_query_runtime_memory``).
    """

    def _get_evaluation_environment(self: Any) -> Any:
        from moto.stepfunctions.parser.backend.execution_worker import SyncExecutionWorker

        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        started = execution.get("StartTime")
        if hasattr(started, "strftime"):
            execution["StartTime"] = f"{started.strftime('%Y-%m-%dT%H:%M:%S')}.{started.microsecond // 1000:03d}Z"
        if not isinstance(self, SyncExecutionWorker):
            execution.setdefault("RedriveCount", 0)
        return env

    return _get_evaluation_environment


#: Statuses of an execution that cannot be redriven (a failed, timed-out or aborted Standard execution can be).
_NOT_REDRIVABLE = {"RUNNING", "SUCCEEDED", "PENDING_REDRIVE"}


def redrive_status(status: str) -> tuple[str, str | None]:
    """``redriveStatus`` and ``redriveStatusReason`` of an execution in ``status``, in AWS's words."""
    if status in _NOT_REDRIVABLE:
        return "NOT_REDRIVABLE", f"Execution is {status} and cannot be redriven"
    return "REDRIVABLE", None


def describes_executions_as_aws(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``StepFunctionResponse.describe_execution``: every field AWS's DescribeExecution answers.

    moto leaves out ``inputDetails``, the redrive fields and, for a timed-out execution, ``stopDate``.
    AWS answers them (recorded: ``../shared/parity/localstack-sfn/v2/base/test_base.snapshot.json`` ``test_state_fail``,
    ``../shared/parity/localstack-sfn/v2/timeouts/test_timeouts.snapshot.json`` ``test_global_timeout``, ``test_describe_execution`` of the API tests):
    ``redriveStatus`` REDRIVABLE for a failed, timed-out or aborted execution, otherwise NOT_REDRIVABLE
    with "Execution is <STATUS> and cannot be redriven".
    """

    def describe_execution(self: Any) -> Any:
        answer = original(self)
        result = getattr(answer, "result", None)
        if not isinstance(result, dict):
            return answer
        status = str(result.get("status"))
        result.setdefault("inputDetails", {"included": True})
        if status == "TIMED_OUT" and "stopDate" not in result:
            execution = self.stepfunction_backend.describe_execution(result["executionArn"])
            if getattr(execution, "stop_date", None) is not None:
                result["stopDate"] = execution.stop_date
        result.setdefault("redriveCount", 0)
        redrive, reason = redrive_status(status)
        result.setdefault("redriveStatus", redrive)
        if reason is not None:
            result.setdefault("redriveStatusReason", reason)
        return answer

    return describe_execution
