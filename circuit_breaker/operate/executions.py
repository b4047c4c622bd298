"""Find and read executions: from the state machine's CloudWatch Logs (AWS), or from the engine's history.

Step Functions keeps no history of Express executions: ``ListExecutions`` and
``GetExecutionHistory`` do not serve them on AWS. With logging level ALL every history event is
a JSON record in the state machine's log group, so :class:`LogExecutions` rebuilds the list and
each execution's path from there. The local engine also writes those records, and keeps every
execution's history besides (:class:`HistoryExecutions`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

from circuit_breaker.operate.errors import ExecutionQueryError
from circuit_breaker.operate.history import ExecutionPath, execution_path

TERMINAL_TYPES = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionTimedOut": "TIMED_OUT", "ExecutionAborted": "ABORTED"}
STATUSES = ("RUNNING", *TERMINAL_TYPES.values())

_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:(execution|express):[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?\Z")
_DURATION = re.compile(r"^([0-9]+)([smhd])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
#: ``--since`` reaches back at most this far (ten years: longer than any log retention worth searching).
MAX_SINCE_SECONDS = 3650 * 86_400


def parse_since(text: str) -> datetime:
    """``15m``, ``2h``, ``1d``, ``30s`` -> the moment that long ago (UTC)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ExecutionQueryError(f"--since takes a duration such as 30s, 15m, 2h or 7d, got {text!r}")
    digits = match.group(1).lstrip("0")
    if len(digits) > 15 or int(digits) * _UNIT_SECONDS[match.group(2)] > MAX_SINCE_SECONDS:
        raise ExecutionQueryError(f"--since reaches back at most 3650d (ten years), got {text!r}")
    return datetime.now(timezone.utc) - timedelta(seconds=int(digits) * _UNIT_SECONDS[match.group(2)])


def check_execution_arn(arn: str) -> str:
    """Return ``arn`` if it names a Step Functions execution, else raise :class:`ExecutionQueryError`."""
    if not _ARN.fullmatch(arn):
        raise ExecutionQueryError(
            f"{arn!r} is not an execution ARN; expected arn:aws:states:REGION:ACCOUNT:express:STATE_MACHINE:NAME:ID "
            "(as `breaker executions` lists them)"
        )
    return arn


@dataclass(frozen=True)
class ExecutionSummary:
    """One execution, as the list shows it."""

    execution_arn: str
    status: str
    started: datetime | None
    stopped: datetime | None = None
    callee: str | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started is None or self.stopped is None:
            return None
        return (self.stopped - self.started).total_seconds() * 1000

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started"] = self.started.isoformat() if self.started else None
        data["stopped"] = self.stopped.isoformat() if self.stopped else None
        data["duration_ms"] = self.duration_ms
        return data


def callee_of(execution_input: str | None) -> str | None:
    """The callee named in an execution's input, if the input names one."""
    try:
        document = json.loads(execution_input or "null")
    except ValueError:
        return None
    callee = document.get("callee") if isinstance(document, dict) else None
    return callee if isinstance(callee, str) else None


def _matches(summary: ExecutionSummary, since: datetime, status: str | None, callee: str | None) -> bool:
    moment = summary.started or summary.stopped
    return (
        (moment is None or moment >= since)
        and (status is None or summary.status == status)
        and (callee is None or summary.callee == callee)
    )


class ExecutionSource(Protocol):
    def list(self, since: datetime, status: str | None = None, callee: str | None = None) -> list[ExecutionSummary]: ...

    def path(self, execution_arn: str, since: datetime) -> ExecutionPath: ...


def _milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _record_time(record: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(record["event_timestamp"]) / 1000, tz=timezone.utc)


class LogExecutions:
    """Executions read from the state machine's log group (what the console shows for Express workflows)."""

    #: CloudWatch Logs filters server-side on AWS; the same selection is applied to what comes back.
    LIST_PATTERN = "{ " + " || ".join(f'($.type = "{t}")' for t in ("ExecutionStarted", *TERMINAL_TYPES)) + " }"

    def __init__(self, logs: Any, log_group_name: str) -> None:
        self.logs = logs
        self.log_group_name = log_group_name

    def _records(self, since: datetime, pattern: str) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "logGroupName": self.log_group_name,
            "startTime": _milliseconds(since),
            "filterPattern": pattern,
        }
        while True:
            page = self.logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                try:
                    yield json.loads(event["message"])
                except ValueError:
                    continue  # not an execution record
            if not page.get("nextToken"):
                return
            kwargs["nextToken"] = page["nextToken"]

    def list(self, since: datetime, status: str | None = None, callee: str | None = None) -> list[ExecutionSummary]:
        found: dict[str, dict[str, Any]] = {}
        for record in self._records(since, self.LIST_PATTERN):
            kind = record.get("type")
            if kind != "ExecutionStarted" and kind not in TERMINAL_TYPES:
                continue
            entry = found.setdefault(record["execution_arn"], {"status": "RUNNING"})
            details = record.get("details") or {}
            if kind == "ExecutionStarted":
                entry["started"] = _record_time(record)
                entry["callee"] = callee_of(details.get("input"))
            else:
                entry.update(status=TERMINAL_TYPES[kind], stopped=_record_time(record), error=details.get("error"), cause=details.get("cause"))
        summaries = [ExecutionSummary(execution_arn=arn, started=e.get("started"), **{k: v for k, v in e.items() if k != "started"}) for arn, e in found.items()]
        selected = [s for s in summaries if _matches(s, since, status, callee)]
        return sorted(selected, key=lambda s: s.started or s.stopped or since, reverse=True)

    def path(self, execution_arn: str, since: datetime) -> ExecutionPath:
        check_execution_arn(execution_arn)
        pattern = f'{{ $.execution_arn = "{execution_arn}" }}'
        records = [r for r in self._records(since, pattern) if r.get("execution_arn") == execution_arn]
        if not records:
            raise ExecutionQueryError(
                f"no log records of {execution_arn} in {self.log_group_name} since {since:%Y-%m-%d %H:%M} UTC; "
                "widen --since, or check the ARN"
            )
        records.sort(key=lambda r: int(r["id"]))
        return execution_path({"type": r["type"], "timestamp": _record_time(r), "details": r.get("details") or {}} for r in records)


class HistoryExecutions:
    """Executions from the Step Functions API, which the local engine answers for Express workflows too."""

    def __init__(self, stepfunctions: Any, state_machine_arn: str) -> None:
        self.sfn = stepfunctions
        self.state_machine_arn = state_machine_arn

    def list(self, since: datetime, status: str | None = None, callee: str | None = None) -> list[ExecutionSummary]:
        summaries = []
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn}
        if status:
            kwargs["statusFilter"] = status
        while True:
            page = self.sfn.list_executions(**kwargs)
            for listed in page["executions"]:
                if listed["startDate"] < since:
                    continue
                described = self.sfn.describe_execution(executionArn=listed["executionArn"])
                summaries.append(
                    ExecutionSummary(
                        execution_arn=listed["executionArn"],
                        status=described["status"],
                        started=described["startDate"],
                        stopped=described.get("stopDate"),
                        callee=callee_of(described.get("input")),
                        error=described.get("error"),
                        cause=described.get("cause"),
                    )
                )
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        selected = [s for s in summaries if _matches(s, since, status, callee)]
        return sorted(selected, key=lambda s: s.started or since, reverse=True)

    def path(self, execution_arn: str, since: datetime) -> ExecutionPath:
        from botocore.exceptions import ClientError

        from circuit_breaker.operate.history import fetch_path

        check_execution_arn(execution_arn)
        try:
            return fetch_path(self.sfn, execution_arn)
        except ClientError as error:
            raise ExecutionQueryError(f"cannot read {execution_arn}: {error.response['Error'].get('Message', error)}") from None
