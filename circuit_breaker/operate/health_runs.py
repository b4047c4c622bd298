"""Run a callee's health check once, as its schedule would: ``breaker health-check run NAME``.

The breaker's registry names the EventBridge Scheduler schedule of each checked callee; its target is
the health-check function and its input the callee's task. Invoking that function with that input
is exactly one scheduled check (same code, same role, same network), on AWS and on the local engine
alike, where schedules never fire on their own.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from circuit_breaker.operate.errors import HealthCheckRunError
from circuit_breaker.aws.connection import Connection
from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.core.registry import not_registered

#: The function may run its probe's timeout (at most 60 s) plus its writes: wait that long, never retry (a
#: retried invoke would run the check twice).
INVOKE_READ_TIMEOUT_SECONDS = 90


def run_health_check(connection: Connection, deployment: Deployment, callee: str) -> dict[str, Any]:
    """Run ``callee``'s health check once; returns what the function answered (its ``CheckOutcome``)."""
    registered = deployment.registry.get(callee)
    if registered is None:
        raise HealthCheckRunError(not_registered(callee, deployment.callees, deployment.name))
    if registered.health_check_schedule is None:
        checked = ", ".join(name for name, entry in deployment.registry.items() if entry.health_check_schedule) or "none"
        raise HealthCheckRunError(
            f"{callee} has no health check: give it a \"health_check\" (a url or a payload) in its settings; callees with one: {checked}"
        )
    group, name = registered.health_check_schedule
    try:
        target = connection.client("scheduler").get_schedule(GroupName=group, Name=name)["Target"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise HealthCheckRunError(f"the health-check schedule {group}/{name} of {callee} does not exist at {connection.where()}: deploy the stack again") from None
        raise
    function = connection.client("lambda", Config(read_timeout=INVOKE_READ_TIMEOUT_SECONDS, retries={"total_max_attempts": 1}))
    answer = function.invoke(FunctionName=target["Arn"], Payload=target.get("Input", "{}").encode())
    body = answer["Payload"].read()
    try:
        document = json.loads(body)
    except ValueError:
        document = body.decode(errors="replace")
    if answer.get("FunctionError"):
        described = f"{document.get('errorType')}: {document.get('errorMessage')}" if isinstance(document, dict) else str(document)[:500]
        raise HealthCheckRunError(f"the health-check function failed on {callee}: {described}")
    if not isinstance(document, dict):
        raise HealthCheckRunError(f"the health-check function answered something else than a check's outcome: {str(document)[:200]}")
    return document
