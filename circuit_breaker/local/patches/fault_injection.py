"""Service faults on purpose: the engine's :class:`~circuit_breaker.local.faults.FaultInjector` answers matching requests."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Callable

from circuit_breaker.local.patches import active


#: Set while a DynamoDB request runs that its outermost wrapper already checked against the faults.
_checked = threading.local()


def faulty_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BaseResponse.call_action``: a request matching an injected fault gets the AWS error instead."""

    def call_action(self: Any) -> Any:
        if getattr(_checked, "active", False):
            return original(self)
        return _answer(self, original)

    return call_action


def faulty_dynamodb_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``DynamoHandler.call_action`` outside the lock that serialises DynamoDB requests: a fault's ``before``
    callback that holds a request (a forced interleaving) holds that request only, while others are served."""

    def call_action(self: Any) -> Any:
        def proceed(handler: Any) -> Any:
            _checked.active = True
            try:
                return original(handler)
            finally:
                _checked.active = False

        return _answer(self, proceed)

    return call_action


def _answer(self: Any, original: Callable[[Any], Any]) -> Any:
    """The request's answer: the fault's AWS error, or the request served (after the fault's callback, if any)."""
    fault = active.current().faults.match(self.boto3_service_name, self._get_action())
    if fault is None:
        return original(self)
    if fault.before is not None:
        fault.before()
        return original(self)
    # JSON protocols read the error type from __type or the x-amzn-ErrorType header.
    body = json.dumps({"__type": fault.error_code, "message": fault.message, "Message": fault.message})
    headers = {"status": fault.status, "x-amzn-ErrorType": fault.error_code, "x-amzn-RequestId": str(uuid.uuid4())}
    return fault.status, headers, body
