"""The health-check function: run by each callee's EventBridge Scheduler schedule with its task.

The event is the schedule's input (:class:`circuit_breaker.core.health.HealthCheckTask`): the callee, its
URL or payload, thresholds and break settings. The function probes the callee once, records the
result on its circuit (possibly opening or closing it) and answers what it found and did. Its role
may read and write the circuit table, put transition events and invoke only the callees that have
payload checks. ``breaker health-check run NAME`` invokes it with the same input.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from circuit_breaker.core.health import HealthCheckTask
from circuit_breaker.lambdas.health_check.probe import probe_function, probe_url
from circuit_breaker.lambdas.health_check.runner import apply_result, event_publisher
from circuit_breaker.core.record import TABLE_ENV

EVENT_BUS_ENV = "CIRCUIT_BREAKER_EVENT_BUS"
EVENT_SOURCE_ENV = "CIRCUIT_BREAKER_EVENT_SOURCE"

logger = Logger(service="circuit-health-check")
_session = boto3.session.Session()
_dynamodb = _session.client("dynamodb")
_events = _session.client("events")


@functools.lru_cache(maxsize=8)
def _lambda_client(timeout_seconds: int) -> Any:
    """A Lambda client that never retries an invoke (it would run the callee twice) and stops reading at the timeout."""
    return _session.client(
        "lambda",
        config=Config(read_timeout=timeout_seconds, connect_timeout=min(timeout_seconds, 5), retries={"total_max_attempts": 1}),
    )


@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    task = HealthCheckTask.from_event(event)
    check = task.check
    if check.url is not None:
        result = probe_url(check.url, check.timeout_seconds)
    else:
        result = probe_function(_lambda_client(check.timeout_seconds), task.function_arn, check.payload, check.timeout_seconds)
    outcome = apply_result(
        task,
        result,
        table_name=os.environ[TABLE_ENV],
        dynamodb=_dynamodb,
        publish=event_publisher(_events, os.environ[EVENT_BUS_ENV], os.environ[EVENT_SOURCE_ENV], logger.warning),
    )
    logger.info("health check", extra={"outcome": outcome.as_dict()})
    return outcome.as_dict()
