"""``StartSyncExecution``: the normal way to call an Express workflow, which moto does not implement.

moto carries the interpreter's synchronous execution (``SyncExecution``: the program runs in the
caller's thread) but no API in front of it, and its URL patterns do not match the host botocore sends
this operation to (``sync-states.REGION.amazonaws.com``: the operation's host prefix ``sync-``). This
module adds the operation to moto's Step Functions API and the host to its URL patterns, and answers
as AWS does (``tests/engine/test_sync_execution.py`` checks the shape against AWS's recorded answers):

- Express machines only; a Standard machine gets ``StateMachineTypeNotSupported`` (HTTP 400);
- HTTP 200 whatever the outcome: ``status`` is ``SUCCEEDED``, ``FAILED`` (with ``error`` and ``cause``)
  or ``TIMED_OUT``; ``input`` and ``output`` as JSON text, ``inputDetails``/``outputDetails``;
- an ``express:`` execution ARN (``arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID``), which the
  engine's ``DescribeExecution`` and ``GetExecutionHistory`` accept (AWS keeps no such history);
- ``billingDetails``: the duration rounded up to 100 ms and 64 MB, as Express bills.

Over HTTP the client must not prepend the host prefix (``sync-127.0.0.1`` resolves nowhere): boto3
needs ``Config(inject_host_prefix=False)`` (:func:`circuit_breaker.aws.connection.local_client_config`), the
aws CLI ``AWS_DISABLE_HOST_PREFIX_INJECTION=true``.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
import time
import uuid
from typing import Any

from circuit_breaker.local.patches import active
from circuit_breaker.local.patches.executions import check_execution_input

#: The host StartSyncExecution goes to (botocore prepends the operation's host prefix ``sync-``).
SYNC_URL_BASE = r"https?://sync-states\.(.+)\.amazonaws.com"

#: Express bills memory in 64-MB steps (the smallest is what these workflows use) and time in 100-ms steps.
BILLED_MEMORY_MB = 64
BILLING_STEP_MS = 100


def with_sync_url_base(original: list[str]) -> list[str]:
    """Replaces ``moto.stepfunctions.urls.url_bases``: also the ``sync-states`` host."""
    return [*original, SYNC_URL_BASE]


def with_sync_url_pattern(original: list[tuple[str, re.Pattern[str]]]) -> list[tuple[str, re.Pattern[str]]]:
    """Replaces ``moto.backend_index.backend_url_patterns``: the ``sync-states`` host belongs to Step Functions."""
    return [*original, ("stepfunctions", re.compile(SYNC_URL_BASE))]


def state_machine_type_not_supported() -> Exception:
    """AWS's answer to StartSyncExecution on a Standard machine (recorded: HTTP 400, this code and message)."""
    from moto.core.exceptions import AWSError

    class StateMachineTypeNotSupported(AWSError):
        TYPE = "StateMachineTypeNotSupported"
        STATUS = 400

    return StateMachineTypeNotSupported("This operation is not supported by this type of state machine")


def billed_duration_ms(seconds: float) -> int:
    """Express bills each execution's duration rounded up to the next 100 ms (at least 100 ms)."""
    return max(BILLING_STEP_MS, math.ceil(seconds * 1000 / BILLING_STEP_MS) * BILLING_STEP_MS)


def run_sync_execution(
    backend: Any, state_machine_arn: str, name: str | None, execution_input: str | None, trace_header: str | None
) -> dict[str, Any]:
    """Run an execution of an Express machine to its end in this thread; return StartSyncExecution's answer."""
    from moto.stepfunctions.parser.backend.execution import SyncExecution

    state_machine = backend.describe_state_machine(state_machine_arn)
    if state_machine.type != "EXPRESS":
        raise state_machine_type_not_supported()
    text = "{}" if execution_input is None else execution_input
    check_execution_input(text)
    name = name or str(uuid.uuid4())
    backend._validate_name(name)
    arn = f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:{state_machine.name}:{name}:{uuid.uuid4()}"
    # The execution runs on a snapshot of the machine (as moto's start_execution takes one), without its
    # executions (live threads) and sharing the backend.
    snapshot = copy.deepcopy(state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend})
    execution = SyncExecution(
        name=name,
        sm_type=state_machine.type,
        role_arn=snapshot.roleArn,
        exec_arn=arn,
        account_id=backend.account_id,
        region_name=backend.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.timezone.utc),
        cloud_watch_logging_session=None,
        input_data=text,
        trace_header=trace_header,
        activity_store={},
    )
    state_machine.executions.append(execution)
    started = time.monotonic()
    execution.start()  # SyncExecutionWorker runs the program in this thread
    elapsed = time.monotonic() - started
    # Waits the engine's clock shortened still count, as they would on AWS's bill.
    skipped = sum(w["seconds"] for w in active.current().clock.waits(arn, kind=None)) * (1 - active.current().clock.scale)
    return sync_execution_answer(execution, elapsed + max(skipped, 0.0))


def sync_execution_answer(execution: Any, billed_seconds: float) -> dict[str, Any]:
    """StartSyncExecution's answer for a finished ``SyncExecution`` (field for field what AWS returns)."""
    answer: dict[str, Any] = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "status": execution.sync_execution_status.value,
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": billed_duration_ms(billed_seconds),
        },
    }
    if execution.sync_execution_status.value == "SUCCEEDED":
        output = execution.output
        answer["output"] = output if isinstance(output, str) else json.dumps(output)
    if execution.error is not None:
        answer["error"] = execution.error
    if execution.cause is not None:
        answer["cause"] = execution.cause
    if execution.trace_header:
        answer["traceHeader"] = execution.trace_header
    return answer


def start_sync_execution(self: Any) -> Any:
    """``StepFunctionResponse.start_sync_execution``: the operation moto's Step Functions API lacks."""
    from moto.core.responses import ActionResult

    return ActionResult(
        run_sync_execution(
            self.stepfunction_backend,
            self._get_param("stateMachineArn"),
            self._get_param("name"),
            self._get_param("input"),
            self._get_param("traceHeader"),
        )
    )
