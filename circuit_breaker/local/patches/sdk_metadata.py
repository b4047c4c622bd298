"""Results of optimised integrations as AWS returns them: the Java SDK's HTTP metadata included.

On AWS, the result of an ``arn:aws:states:::lambda:invoke`` or ``arn:aws:states:::dynamodb:*`` task
is the SDK response the service integration got, with ``SdkHttpMetadata`` (status code and headers)
and ``SdkResponseMetadata`` (the request ID) beside the API's own fields; ``lambda:invoke`` also
carries ``ExecutedVersion``. moto drops all of that. A workflow that passes a whole task result on
(``$states.result``) must see the same fields locally as on AWS, and a result's size (which counts
against the 256 KiB limit) must include them.

A Lambda ``Payload`` is parsed strictly as JSON: the Python runtime writes a ``NaN`` or ``Infinity``
answer as such, which is not JSON, and Step Functions then keeps the payload as text, as it does any
payload that is not JSON. So no task result is ever a value JSON cannot carry.
"""

from __future__ import annotations

import email.utils
import json
from typing import Any

from circuit_breaker.local.patches.lambda_invoke import INVOCATION_REQUEST_ID_HEADER


class _NotJson(ValueError):
    """A constant (NaN, Infinity) that JSON does not have."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")


def parse_payload(payload: bytes) -> Any:
    """A Lambda payload as Step Functions reads it: strict JSON, else the text."""
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return text


def _headers(pairs: dict[str, str]) -> dict[str, Any]:
    return {
        "AllHttpHeaders": {name: [value] for name, value in pairs.items()},
        "HttpHeaders": dict(pairs),
        "HttpStatusCode": 200,
    }


def _now() -> str:
    return email.utils.formatdate(usegmt=True)


def lambda_metadata(request_id: str, payload: bytes, executed_version: str, log_result: str | None) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` of a Lambda Invoke response."""
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(payload)),
        "Content-Type": "application/json",
        "Date": _now(),
        "X-Amz-Executed-Version": executed_version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": f"Root=1-{request_id[:8]}-{request_id.replace('-', '')[:24]};Sampled=0",
    }
    if log_result is not None:
        headers["X-Amz-Log-Result"] = log_result
    return {"SdkHttpMetadata": _headers(headers), "SdkResponseMetadata": {"RequestId": request_id}}


def dynamodb_metadata(action: str, request_id: str, body: dict[str, Any], crc32: str | None) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` of a DynamoDB response (``body`` without metadata)."""
    request_id_header = "x-amzn-requestid" if action == "get_item" else "x-amzn-RequestId"
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(json.dumps(body, separators=(",", ":")).encode())),
        "Content-Type": "application/x-amz-json-1.0",
        "Date": _now(),
        "Server": "Server",
        "x-amz-crc32": crc32 or "0",
        request_id_header: request_id,
    }
    return {"SdkHttpMetadata": _headers(headers), "SdkResponseMetadata": {"RequestId": request_id}}


def lambda_invoke_integration(env: Any, parameters: dict, region: str, state_credentials: Any) -> None:
    """Replaces ``lambda_eval_utils.execute_lambda_function_integration``: the Invoke response as AWS returns it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    if env.is_mocked_mode():
        response = lambda_eval_utils._mocked_invoke_lambda_function(env=env)
    else:
        client = boto_client_for(service="lambda", region=region, state_credentials=state_credentials)
        raw = client.invoke(**parameters)
        payload = raw["Payload"].read()
        headers = raw["ResponseMetadata"].get("HTTPHeaders", {})
        response = {"ExecutedVersion": raw.get("ExecutedVersion", "$LATEST"), "Payload": parse_payload(payload)}
        if raw.get("FunctionError"):
            response["FunctionError"] = raw["FunctionError"]
        if raw.get("LogResult"):
            response["LogResult"] = raw["LogResult"]
        request_id = headers.get(INVOCATION_REQUEST_ID_HEADER) or raw["ResponseMetadata"]["RequestId"]
        response.update(lambda_metadata(request_id, payload, response["ExecutedVersion"], raw.get("LogResult")))
        response["StatusCode"] = raw.get("StatusCode", headers and 200)
    if response.get("FunctionError"):
        payload_text = json.dumps(response["Payload"], separators=(",", ":"))
        raise lambda_eval_utils.LambdaFunctionErrorException(response["FunctionError"], payload_text)
    env.stack.append(response)


def dynamodb_task(self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any) -> None:
    """Replaces ``StateTaskServiceDynamoDB._eval_service_task``: the response with its SDK metadata."""
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    action = self._get_boto_service_action()
    client = boto_client_for(service=self._get_boto_service_name(), region=resource_runtime_part.region, state_credentials=state_credentials)
    # The integration's SDK leaves a null member out of the request (DynamoDB then names it missing).
    response = getattr(client, action)(**{name: value for name, value in normalised_parameters.items() if value is not None})
    metadata = response.pop("ResponseMetadata", {})
    headers = metadata.get("HTTPHeaders", {})
    response.update(dynamodb_metadata(action, metadata.get("RequestId", ""), response, headers.get("x-amz-crc32")))
    env.stack.append(response)
