"""Service faults on purpose: the engine's :class:`~circuit_breaker.local.faults.FaultInjector` answers matching requests."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from circuit_breaker.local.patches import active


def faulty_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BaseResponse.call_action``: a request matching an injected fault gets the AWS error instead."""

    def call_action(self: Any) -> Any:
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

    return call_action
