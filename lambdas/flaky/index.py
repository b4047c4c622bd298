"""Sample callee ``flaky``: fails or stalls on request, to show the breaker at work.

The payload steers it: ``{"fail": true}`` raises :class:`FlakyError`, ``{"fail_between": [t0, t1]}`` fails
while the clock (epoch seconds) is inside that window (an outage that heals by itself, retries
included), ``{"sleep_seconds": 2.5}`` waits first (to run into the breaker's timeout), and
``{"message": "..."}`` sets the error message. Any other payload is answered unchanged.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

#: Longer than any Lambda may run; a larger sleep is a mistake in the payload.
MAX_SLEEP_SECONDS = 900


class FlakyError(Exception):
    """The payload asked this call to fail."""


class InvalidPayloadError(ValueError):
    """The payload's ``fail`` or ``sleep_seconds`` is not of the expected type."""


def _sleep_seconds(event: dict[str, Any]) -> float:
    value = event.get("sleep_seconds", 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SLEEP_SECONDS:
        raise InvalidPayloadError(f"sleep_seconds must be a number from 0 to {MAX_SLEEP_SECONDS}, got {value!r}")
    return float(value)


@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> Any:
    if not isinstance(event, dict):
        return event
    fail = event.get("fail", False)
    if not isinstance(fail, bool):
        raise InvalidPayloadError(f"fail must be true or false, got {fail!r}")
    window = event.get("fail_between")
    if window is not None:
        if not (isinstance(window, list) and len(window) == 2 and all(isinstance(t, (int, float)) for t in window)):
            raise InvalidPayloadError(f"fail_between must be [start, end] in epoch seconds, got {window!r}")
        fail = fail or window[0] <= time.time() < window[1]
    sleep_seconds = _sleep_seconds(event)
    if sleep_seconds:
        logger.info("sleeping", extra={"sleep_seconds": sleep_seconds})
        time.sleep(sleep_seconds)
    if fail:
        message = str(event.get("message", "flaky was asked to fail"))
        logger.warning("failing on request", extra={"error_message": message})
        raise FlakyError(message)
    return event
