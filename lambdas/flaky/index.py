"""Sample callee ``flaky``: fails or stalls on request, to show the breaker at work.

The payload steers it: ``{"fail": true}`` raises :class:`FlakyError`, ``{"fail_between": [t0, t1]}`` fails
while the clock (epoch seconds) is inside that window (an outage that heals by itself, retries
included), ``{"fail_ratio": 0.02}`` fails that share of its invocations at random (noise: each attempt draws
anew), ``{"sleep_seconds": 2.5}`` waits first (to run into the breaker's timeout), and
``{"message": "..."}`` sets the error message, ``{"error": "CardDeclined"}`` the error's name (what Lambda
reports as ``errorType``: a business answer such as a declined card, which a callee may declare in its
``ignored_errors``). Any other payload is answered unchanged.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

#: Longer than any Lambda may run; a larger sleep is a mistake in the payload.
MAX_SLEEP_SECONDS = 900
#: A Python class name: what Lambda reports as the error's type.
ERROR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


class FlakyError(Exception):
    """The payload asked this call to fail."""


class InvalidPayloadError(ValueError):
    """The payload's ``fail`` or ``sleep_seconds`` is not of the expected type."""


def _error_class(event: dict[str, Any]) -> type[FlakyError]:
    name = event.get("error", "FlakyError")
    if not isinstance(name, str) or not ERROR_NAME.fullmatch(name):
        raise InvalidPayloadError(f"error must name an error class (letters, digits, '_'), got {name!r}")
    return FlakyError if name == "FlakyError" else type(name, (FlakyError,), {})


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
    ratio = event.get("fail_ratio")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
            raise InvalidPayloadError(f"fail_ratio must be a number from 0 to 1, got {ratio!r}")
        fail = fail or random.random() < ratio
    error_class = _error_class(event)
    sleep_seconds = _sleep_seconds(event)
    if sleep_seconds:
        logger.info("sleeping", extra={"sleep_seconds": sleep_seconds})
        time.sleep(sleep_seconds)
    if fail:
        message = str(event.get("message", "flaky was asked to fail"))
        logger.warning("failing on request", extra={"error_message": message})
        raise error_class(message)
    return event
