"""Execution logs on the local engine, written as Step Functions writes them for Express workflows.

AWS keeps no history of an Express execution: what the console shows comes from the state
machine's log group, one JSON record per history event::

    {"id": "4", "type": "TaskStateEntered", "details": {...}, "previous_event_id": "3",
     "event_timestamp": "1700000000123", "execution_arn": "arn:...", "redrive_count": "0"}

moto never starts a logging session; the engine starts one per execution of a state machine whose
logging is on, so the log group fills up as on AWS and ``breaker executions``, ``breaker history``
and the metric filters read the same records locally as they do on AWS.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

_lock = threading.Lock()

#: Log levels and the event types they include, as Step Functions' *Log levels* lists them
#: (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html): FATAL logs an execution's
#: abort, failure or timeout; ERROR adds every failure event (failed tasks, Fail states, failed Lambda functions,
#: Map and Parallel failures, aborted waits); ALL logs every event; OFF none. The distributed Map's MapRun failures
#: are newer than the archived table and counted with the failures.
_ERROR_TYPES = {
    "ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut", "FailStateEntered", "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed", "LambdaFunctionTimedOut", "MapStateAborted",
    "MapStateFailed", "MapIterationAborted", "MapIterationFailed", "MapRunAborted", "MapRunFailed",
    "ParallelStateAborted", "ParallelStateFailed", "TaskFailed", "TaskStartFailed", "TaskStateAborted",
    "TaskSubmitFailed", "TaskTimedOut", "WaitStateAborted",
}
_FATAL_TYPES = {"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"}


def log_group_name_of(log_group_arn: str) -> str | None:
    """``arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`` -> ``NAME``."""
    _, found, rest = log_group_arn.partition(":log-group:")
    if not found:
        return None
    return rest[:-2] if rest.endswith(":*") else rest


def _milliseconds(timestamp: Any) -> int:
    """moto hands over a datetime, or the ISO text of one."""
    if isinstance(timestamp, str):
        timestamp = datetime.fromisoformat(timestamp)
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=timezone.utc)
        return int(timestamp.timestamp() * 1000)
    return int(timestamp)


class _Configuration:
    def __init__(self, include_execution_data: bool) -> None:
        self.include_execution_data = include_execution_data


class ExecutionLogSession:
    """Receives an execution's history events (moto's logging-session interface) and writes them."""

    def __init__(self, execution_arn: str, state_machine_name: str, level: str, include_execution_data: bool,
                 account: str, region: str, log_group_name: str) -> None:
        self.execution_arn = execution_arn
        self.configuration = _Configuration(include_execution_data)
        self.level = level
        self.account = account
        self.region = region
        self.log_group_name = log_group_name
        self.log_stream_name = f"states/{state_machine_name}/{datetime.now(timezone.utc):%Y-%m-%d}/{execution_arn.rsplit(':', 1)[-1][:8]}"

    @classmethod
    def for_execution(cls, execution: Any) -> "ExecutionLogSession | None":
        """A session for a moto execution, if its state machine logs (level other than OFF, one log group)."""
        config = getattr(execution.state_machine, "loggingConfiguration", None) or {}
        level = config.get("level", "OFF")
        destinations = config.get("destinations") or []
        if level == "OFF" or len(destinations) != 1:
            return None
        name = log_group_name_of(destinations[0].get("cloudWatchLogsLogGroup", {}).get("logGroupArn", ""))
        if not name:
            return None
        return cls(
            execution_arn=execution.execution_arn,
            state_machine_name=execution.state_machine.name,
            level=level,
            include_execution_data=bool(config.get("includeExecutionData")),
            account=execution.account_id,
            region=execution.region_name,
            log_group_name=name,
        )

    def log_level_filter(self, history_event_type: Any) -> bool:
        kind = str(getattr(history_event_type, "value", history_event_type))
        if self.level == "ALL":
            return True
        if self.level == "ERROR":
            return kind in _ERROR_TYPES
        if self.level == "FATAL":
            return kind in _FATAL_TYPES
        return False

    def publish_history_log(self, history_log: dict[str, Any]) -> None:
        from moto.logs.models import logs_backends

        milliseconds = _milliseconds(history_log["event_timestamp"])
        record = {
            "id": history_log["id"],
            "type": str(getattr(history_log["type"], "value", history_log["type"])),
            "details": history_log.get("details") or {},
            "previous_event_id": history_log["previous_event_id"],
            "event_timestamp": str(milliseconds),
            "execution_arn": history_log["execution_arn"],
            "redrive_count": "0",
        }
        message = json.dumps(record, separators=(",", ":"), default=str)
        backend = logs_backends[self.account][self.region]
        with _lock:
            group = backend.groups.get(self.log_group_name)
            if group is None:
                return  # the log group was deleted: AWS drops the records too
            if self.log_stream_name not in group.streams:
                backend.create_log_stream(self.log_group_name, self.log_stream_name)
            backend.put_log_events(self.log_group_name, self.log_stream_name, [{"timestamp": milliseconds, "message": message}])
