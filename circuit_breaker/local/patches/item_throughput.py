"""DynamoDB's per-item throughput limits and capacity units (the engine's :class:`~circuit_breaker.local.throughput.ItemThroughput`).

moto serves any number of requests per item and answers ``ConsumedCapacity`` with fixed figures (0.5 for
every ``GetItem``, consistent or not, whatever the item's size). This patch counts each item operation's
units as DynamoDB does (:mod:`circuit_breaker.local.throughput`), reports them when the request asks
(``ReturnConsumedCapacity``), and, when the engine enforces :class:`~circuit_breaker.local.throughput.ItemLimits`,
refuses a request its item cannot serve this second as DynamoDB refuses it::

    400 ProvisionedThroughputExceededException
    {"message": "The level of configured provisioned throughput for the table was exceeded.",
     "ThrottlingReasons": [{"reason": "TableReadKeyRangeThroughputExceeded", "resource": "<table ARN>"}]}

The shape is botocore 1.44.5's model of the exception (``message`` and ``ThrottlingReasons``, a list of
``ThrottlingReason`` with ``reason`` and ``resource``, the table's ARN). The reason follows the model's
``ResourceType+OperationType+LimitType`` format with the limit type ``KeyRangeThroughputExceeded`` ("the request
rate directed at a specific partition key value has exceeded the internal partition-level throughput limits");
*Diagnosing throttling* (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-diagnosing-workflow.html)
names this exception with the reason ``TableWriteKeyRangeThroughputExceeded`` in its worked example. The
message is the one DynamoDB answered a hot partition of an on-demand table with (recorded in
https://github.com/aws-samples/sample-collaborative-ai-dlc/pull/443; the same page's index example reads "The level
of configured provisioned throughput for the index was exceeded").

The check, the request and the charge hold the engine's DynamoDB lock (``concurrency.serialised_dynamodb``), so
concurrent executions cannot both spend an item's last unit. Covered: ``GetItem``, ``PutItem``, ``UpdateItem``
and ``DeleteItem`` (what the workflow, the health checks and the CLI call); batches, transactions, queries and
scans pass unlimited. Item sizes are moto's (a number counts one byte per character; DynamoDB's formula differs
by a byte or two, which moves no item of this breaker across a unit boundary).
"""

from __future__ import annotations

import binascii
import json
import uuid
from typing import Any, Callable

from circuit_breaker.local.patches import active
from circuit_breaker.local.patches.concurrency import _dynamodb_lock
from circuit_breaker.local.throughput import Direction, read_units, write_units

THROTTLED = "ProvisionedThroughputExceededException"
THROTTLED_MESSAGE = "The level of configured provisioned throughput for the table was exceeded."
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_LIMITED = _WRITES | {"GetItem"}
_ASKED_FOR_CAPACITY = {"TOTAL", "INDEXES"}


def throttling_reason(direction: Direction) -> str:
    """``TableReadKeyRangeThroughputExceeded`` or ``TableWriteKeyRangeThroughputExceeded``."""
    return f"Table{direction.capitalize()}KeyRangeThroughputExceeded"


def throttled_response(table_arn: str, direction: Direction) -> tuple[int, dict[str, Any], str]:
    """DynamoDB's answer to a request its item cannot serve this second."""
    body = json.dumps(
        {
            "__type": f"com.amazonaws.dynamodb.v20120810#{THROTTLED}",
            "message": THROTTLED_MESSAGE,
            "ThrottlingReasons": [{"reason": throttling_reason(direction), "resource": table_arn}],
        }
    )
    headers = {
        "status": 400,
        "x-amzn-ErrorType": THROTTLED,
        "x-amzn-RequestId": str(uuid.uuid4()),
        "Content-Type": "application/x-amz-json-1.0",
    }
    return 400, headers, body


def _request(handler: Any) -> dict[str, Any]:
    params = getattr(handler, "params", None)
    if isinstance(params, dict) and params:
        return params
    try:
        body = json.loads(handler.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _item_bytes(backend: Any, table: Any, key: dict[str, Any]) -> int:
    item = backend.get_item(table.name, key)
    return item.size() if item is not None else 0


def _key_of(table: Any, attributes: dict[str, Any]) -> dict[str, Any]:
    """The key attributes of an item (a PutItem's item holds its key among its other attributes)."""
    return {name: attributes[name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in attributes}


def _partition_key(table: Any, key: dict[str, Any]) -> str | None:
    value = key.get(table.hash_key_attr)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    return str(next(iter(value.values())))


def _error_type(body: Any) -> str:
    try:
        found = json.loads(body).get("__type", "")
    except (TypeError, ValueError, AttributeError):
        return ""
    return str(found).rsplit("#", 1)[-1]


def _with_capacity(response: tuple[Any, dict[str, Any], Any], units: float) -> tuple[Any, dict[str, Any], Any]:
    """The answer with its ``ConsumedCapacity`` units as counted (and its CRC32 header recomputed)."""
    status, headers, body = response
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):
        return response
    consumed = answer.get("ConsumedCapacity") if isinstance(answer, dict) else None
    if not isinstance(consumed, dict):
        return response
    consumed["CapacityUnits"] = units
    if isinstance(consumed.get("Table"), dict):
        consumed["Table"]["CapacityUnits"] = units
    text = json.dumps(answer)
    headers = dict(headers)
    headers["x-amz-crc32"] = str(binascii.crc32(text.encode()) & 0xFFFFFFFF)
    return status, headers, text


def limits_item_throughput(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``DynamoHandler.call_action``: item operations counted in capacity units, refused past the item's limit."""

    def call_action(self: Any) -> Any:
        action = self._get_action()
        if action not in _LIMITED:
            return original(self)
        installed = active.installed()
        if installed is None:
            return original(self)
        throughput = installed.throughput
        request = _request(self)
        with _dynamodb_lock:
            try:
                backend = self.dynamodb_backend
                table = backend.get_table(request["TableName"])
                key = _key_of(table, request["Item"] if action == "PutItem" else request["Key"])
                partition = _partition_key(table, key)
                before = _item_bytes(backend, table, key)
            except Exception:  # noqa: BLE001 - a request moto refuses (no table, bad key) is moto's to answer
                return original(self)
            if partition is None:
                return original(self)
            direction: Direction = "read" if action == "GetItem" else "write"
            estimate = read_units(before, request.get("ConsistentRead") is True) if direction == "read" else write_units(before, 0)
            if not throughput.admit(table.name, partition, direction, estimate):
                return throttled_response(table.table_arn, direction)
            response = original(self)
            status, _, body = response
            if direction == "read":
                units = estimate
            else:
                try:
                    after = _item_bytes(backend, table, key)
                except Exception:  # noqa: BLE001 - the item is as the request left it; its size only prices it
                    after = before
                units = write_units(before, after)
            served = int(status) == 200
            if served or (direction == "write" and _error_type(body) == "ConditionalCheckFailedException"):
                throughput.consume(table.name, partition, direction, units)
        if served and request.get("ReturnConsumedCapacity", "NONE") in _ASKED_FOR_CAPACITY:
            return _with_capacity(response, units)
        return response

    return call_action
