"""An API the engine does not implement answers a 4xx error naming it, not a 500 with moto's traceback.

moto raises ``NotImplementedError`` for an operation it lacks; served over HTTP (Flask in debug mode)
that is an HTTP 500 with a Python traceback, in process an exception out of botocore. AWS answers an
operation it does not know with a client error; the engine does the same, naming the service and
operation, in the service's own protocol (JSON ``__type`` or an XML ``<Error>``), so every SDK and the
aws CLI show it as a normal error.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

#: The error code: what AWS's JSON services answer for an operation they do not know.
ERROR_CODE = "UnknownOperationException"


def unknown_operation_message(service: str, operation: str) -> str:
    """What the engine says about an operation it does not implement."""
    return f"the local engine does not implement {service} {operation} (moto lacks it); use AWS for this call"


def refuses_unknown_operations(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BaseResponse._dispatch``: ``NotImplementedError`` becomes a client error (HTTP 400) naming the operation."""

    def _dispatch(self: Any, request: Any, full_url: Any = None, headers: Any = None) -> Any:
        try:
            return original(self, request, full_url, headers)
        except NotImplementedError:
            return unknown_operation_response(self)

    return _dispatch


def unknown_operation_response(response: Any) -> tuple[int, dict[str, str], str]:
    """The 400 answer for the operation ``response`` (a moto ``BaseResponse``) was asked for, in its protocol."""
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    service = getattr(response, "boto3_service_name", None) or "this service"
    try:
        operation = response._get_action() or "(unknown operation)"
    except Exception:  # the request did not even name an operation moto can read
        operation = "(unknown operation)"

    class UnknownOperation(ServiceException):
        code = ERROR_CODE

    try:
        with warnings.catch_warnings():  # the code is not one of the service model's error shapes, as on AWS
            warnings.simplefilter("ignore")
            status, headers, body = response.serialized(ActionResult(UnknownOperation(unknown_operation_message(service, operation))))
    except Exception:  # a service moto has no serializer for: answer in JSON, which every SDK reads
        import json

        status = 400
        headers = {"x-amzn-ErrorType": ERROR_CODE, "Content-Type": "application/x-amz-json-1.0"}
        body = json.dumps({"__type": ERROR_CODE, "message": unknown_operation_message(service, operation)})
    headers.pop("status", None)
    return 400, headers, body
