"""Execution status change events: Standard executions tell the default EventBridge bus when they start and end.

AWS sends a ``Step Functions Execution Status Change`` event (source ``aws.states``) to the account's
default bus when a Standard execution starts (``RUNNING``) and when it ends (``SUCCEEDED``, ``FAILED``,
``TIMED_OUT``, ``ABORTED``); Express workflows emit none (the Step Functions developer guide, "EventBridge
(CloudWatch Events) for Step Functions execution status changes"; the EventBridge reference lists it as the
service's only event, best-effort delivery). moto's executor sent nothing, so a rule matching
``{"source": ["aws.states"]}`` never fired.

The events go through moto's events backend (its ``put_events``), so rules, patterns and targets (an SQS
queue, a log group...) see them as they see any event. The detail carries the execution as AWS describes it
(recorded: ``../shared/parity/localstack-sfn/v2/base/test_base.snapshot.json``,
``test_event_bridge_events_base``): ``input``/``output`` as JSON text, dates as epoch milliseconds,
``stopDate``/``output``/``outputDetails`` null while running, the redrive fields, ``error``/``cause``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from circuit_breaker.local.patches.executions import redrive_status

LOG = logging.getLogger(__name__)

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"


def _millis(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _status_of(execution: Any) -> str:
    status = getattr(execution, "exec_status", None)
    return str(getattr(status, "value", status))


def emits_events(execution: Any) -> bool:
    """Only Standard executions emit status change events (moto keeps the created type in ``type``)."""
    return getattr(execution.state_machine, "type", None) != "EXPRESS" and ":express:" not in execution.exec_arn


def status_detail(execution: Any, status: str) -> dict[str, Any]:
    """The event's ``detail``: the execution as it stands, with ``status``."""
    machine = execution.state_machine
    version_arn = machine.arn if getattr(machine, "source_arn", None) else None
    succeeded = status == "SUCCEEDED"
    redrive, redrive_reason = redrive_status(status)
    output = execution.output if succeeded else None
    if succeeded and not isinstance(output, str):
        output = json.dumps(output, separators=(",", ":"))
    raw_input = getattr(execution, "execution_input", None)
    text_input = raw_input if isinstance(raw_input, str) else json.dumps(execution.input_data, separators=(",", ":"))
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": getattr(machine, "source_arn", None) or machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": None if status == "RUNNING" else _millis(execution.stop_date),
        "input": text_input,
        "output": output,
        "stateMachineVersionArn": version_arn,
        "stateMachineAliasArn": None,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": redrive,
        "redriveStatusReason": redrive_reason,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": (execution.error or None) if status != "RUNNING" else None,
        "cause": (execution.cause or None) if status != "RUNNING" else None,
    }


def publish(execution: Any, status: str) -> None:
    """Put one status change event on the execution's account and region's default bus (never fails the execution)."""
    from moto.events.models import events_backends

    try:
        backend = events_backends[execution.account_id][execution.region_name]
        backend.put_events(
            [
                {
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(status_detail(execution, status)),
                    "Resources": [execution.exec_arn],
                }
            ]
        )
    except Exception:  # noqa: BLE001 - delivery is best effort on AWS too
        LOG.warning("could not publish the %s status change event of %s", status, execution.exec_arn, exc_info=True)


def announces_the_start(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``Execution._get_start_execution_worker``: the RUNNING event, before the execution's thread starts."""

    def _get_start_execution_worker(self: Any) -> Any:
        worker = original(self)
        if emits_events(self):
            publish(self, "RUNNING")
        return worker

    return _get_start_execution_worker


def announces_the_end(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BaseExecutionWorkerCommunication.terminated``: the end event, once the status is set."""

    def terminated(self: Any) -> None:
        original(self)
        execution = self.execution
        if emits_events(execution):
            publish(execution, _status_of(execution))

    return terminated
