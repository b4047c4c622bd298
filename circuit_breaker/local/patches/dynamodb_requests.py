"""DynamoDB's item operations (the ones Step Functions' DynamoDB integration calls) validated and answered as on AWS.

- A request without a required member, or naming a table that is not a table name, is a
  ``ValidationException`` with DynamoDB's own message (``1 validation error detected: Value null at 'item'
  failed to satisfy constraint: Member must not be null``; ``Value '/t' at 'tableName' failed to satisfy
  constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+``). moto answered a missing
  member with an internal error and a bad table name with ResourceNotFoundException.
- A number DynamoDB cannot hold is its ``ValidationException`` (:mod:`circuit_breaker.local.patches.dynamodb_numbers`).
- ``ConsumedCapacity`` is in the answer only when the request asked for it (``ReturnConsumedCapacity``
  ``TOTAL`` or ``INDEXES``); moto's UpdateItem always added it (and DeleteItem a ``ConsumedCapacityUnits``).

Recorded by AWS: ``../shared/parity/localstack-sfn/v2/error_handling/test_task_service_dynamodb.snapshot.json``
(``test_put_item_invalid_table_name``, ``test_invalid_param``) and ``../shared/parity/localstack-sfn/v2/services/test_dynamodb_task_service.snapshot.json``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from circuit_breaker.local.patches import dynamodb_numbers

#: A table's name (an ARN names a table too, and is left to moto).
_TABLE_NAME = "[a-zA-Z0-9_.-]+"
_ASKED_FOR_CAPACITY = {"TOTAL", "INDEXES"}


@lru_cache(maxsize=None)
def _required_members(operation: str) -> tuple[str, ...]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("dynamodb").operation_model(operation)
    return tuple(model.input_shape.required_members)


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def violations(operation: str, body: dict[str, Any]) -> list[str]:
    """DynamoDB's validation messages for ``body``, a request of ``operation`` (``PutItem``...)."""
    found = [
        f"Value null at '{_lower_camel(member)}' failed to satisfy constraint: Member must not be null"
        for member in _required_members(operation)
        if body.get(member) is None
    ]
    table = body.get("TableName")
    if isinstance(table, str) and not table.startswith("arn:") and not re.fullmatch(_TABLE_NAME, table):
        found.append(
            f"Value '{table}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: {_TABLE_NAME}"
        )
    return found


def validation_message(found: list[str]) -> str:
    """``1 validation error detected: ...`` / ``2 validation errors detected: ...; ...``."""
    plural = "s" if len(found) > 1 else ""
    return f"{len(found)} validation error{plural} detected: " + "; ".join(found)


def as_on_aws(operation: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wraps ``DynamoHandler.<operation>``: validate the request (members, table name, numbers) first, answer capacity only when asked."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def handle(self: Any) -> Any:
            from moto.dynamodb.exceptions import MockValidationException

            found = violations(operation, self.body)
            if found:
                raise MockValidationException(validation_message(found))
            number = dynamodb_numbers.refusal(self.body)
            if number:
                raise MockValidationException(number)
            result = original(self)
            answer = getattr(result, "result", None)
            if isinstance(answer, dict) and self.body.get("ReturnConsumedCapacity", "NONE") not in _ASKED_FOR_CAPACITY:
                answer.pop("ConsumedCapacity", None)
                answer.pop("ConsumedCapacityUnits", None)
            return result

        return handle

    return wrap
