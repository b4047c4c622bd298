"""How executions start, parse their definition, report their output and log, as on AWS."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from typing import Any, Callable

from circuit_breaker.local.cloudwatch_logging import ExecutionLogSession

_programs: dict[str, Any] = {}
_programs_lock = threading.Lock()


def cached_entrypoint(self: Any) -> Any:
    """Replaces ``ExecutionWorker._get_evaluation_entrypoint``: parse a definition once, copy it per execution."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:
        program = _programs.get(definition)
        if program is None:
            program = _programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
        # Components keep per-execution state (a Choice's next state, say): never share one.
        return copy.deepcopy(program)


def names_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``start_execution``: an execution started without a name gets a UUID, as on AWS."""

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


def outputs_json(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``_reflect_execution_status``: a string output is described as JSON text."""

    def _reflect_execution_status(self: Any) -> None:
        original(self)
        if self.execution.exec_status == "SUCCEEDED" and isinstance(self.execution.output, str):
            # DescribeExecution returns a str output verbatim (it takes it for JSON text): encode it.
            self.execution.output = json.dumps(self.execution.output)

    return _reflect_execution_status


def logs_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``Execution.start``: executions log to their state machine's CloudWatch log group."""

    def start(self: Any) -> None:
        if self._cloud_watch_logging_session is None:
            self._cloud_watch_logging_session = ExecutionLogSession.for_execution(self)
        original(self)

    return start
