"""Lambda invocations run in this process (:mod:`circuit_breaker.local.lambda_runtime`) instead of in Docker."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from circuit_breaker.local.lambda_runtime import FunctionSpec, InvalidClientContextError, decode_client_context
from circuit_breaker.local.patches import active


#: Carries the invocation's request ID past moto's HTTP layer, to the Step Functions integration.
INVOCATION_REQUEST_ID_HEADER = "x-breaker-invocation-request-id"


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def lambda_invoke(self: Any, body: Any, request_headers: Any, response_headers: dict[str, str]) -> bytes:
    """Replaces ``LambdaFunction.invoke``: run the handler here, with the invoke's ClientContext."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    try:
        client_context = decode_client_context(_header(request_headers, "X-Amz-Client-Context"))
    except InvalidClientContextError as error:
        raise InvalidParameterValueException(str(error)) from None
    event = json.loads(body) if body else {}
    spec = FunctionSpec(
        function_name=self.function_name,
        function_arn=self.function_arn,
        handler=self.handler,
        code_zip=self.code_bytes,
        environment=dict(self.environment_vars or {}),
        timeout_seconds=float(self.timeout),
        memory_mb=int(self.memory_size),
        version=str(self.version),
        region=self.region,
        runtime=str(self.run_time),
    )
    runtime = active.current().runtime

    def run() -> Any:
        outcome = runtime.invoke(spec, event, client_context)
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(outcome.log)
        return outcome

    if _header(request_headers, "X-Amz-Invocation-Type") == "Event":
        threading.Thread(target=run, name=f"lambda-event-{self.function_name}", daemon=True).start()
        return b""
    outcome = run()
    # Lambda's request ID is the invocation's (a UUID); moto's HTTP layer stamps its own on every response.
    response_headers[INVOCATION_REQUEST_ID_HEADER] = outcome.request_id
    response_headers["x-amz-executed-version"] = "$LATEST" if str(self.version) in ("", "None", "0") else str(self.version)
    if outcome.function_error:
        response_headers["x-amz-function-error"] = outcome.function_error
    response_headers["x-amz-log-result"] = base64.b64encode(outcome.log.encode()[-4096:]).decode()
    return outcome.payload


def payload_bytes(original: Any) -> Any:
    """Wraps ``lambda_eval_utils.to_payload_type``: a JSON null payload is sent as ``null``, as AWS sends it.

    moto sends ``{}`` instead, so a function answering its event gives ``{}`` where AWS recorded ``null``
    (``../shared/parity/localstack-sfn/v2/error_handling/test_task_lambda.snapshot.json``,
    ``test_invoke_json_values[None]``).
    """

    def to_payload_type(payload: Any) -> Any:
        return b"null" if payload is None else original(payload)

    return to_payload_type
