"""Errors of service-integration tasks, named as Step Functions names them."""

from __future__ import annotations

import json
from typing import Any, Callable


def passes_failure_events(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a task's ``_from_error`` so a failing expression in its Arguments keeps its own error name.

    moto turns every exception raised while the task runs into ``<Service>.AmazonDynamoDBException`` and
    the like, including the ``States.QueryEvaluationError`` of an expression in the task's Arguments.
    """

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException

        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return original(self, env, ex)

    return _from_error


def names_service_errors(prefix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wraps a task's ``_from_error`` so a service's error becomes ``<prefix>.<code>`` (a TaskFailed)."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def _from_error(self: Any, env: Any, ex: Exception) -> Any:
            from botocore.exceptions import ClientError
            from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
            from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
            from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
            from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

            if not isinstance(ex, ClientError):
                return original(self, env, ex)
            error = f"{prefix}.{ex.response['Error']['Code']}"
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=error,
                        cause=ex.response["Error"].get("Message", str(ex)),
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )

        return _from_error

    return wrap


def names_eventbridge_errors(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``StateTaskServiceEvents._from_error``: EventBridge errors named as AWS names them.

    A service error is ``EventBridge.<code>`` (:func:`names_service_errors`); entries PutEvents refused are
    ``EventBridge.FailedEntry`` with the PutEvents answer as JSON text in the Cause (moto wrote the Python
    ``repr`` of the answer). Recorded by AWS: ``../shared/parity/localstack-sfn/v2/services/test_events_task_service.snapshot.json``.
    """
    named = names_service_errors("EventBridge")(original)

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        failure = named(self, env, ex)
        details = (failure.event_details or {}).get("taskFailedEventDetails")
        if details is not None and isinstance(details.get("cause"), dict):
            details["cause"] = json.dumps(details["cause"], separators=(",", ":"))
        return failure

    return _from_error


#: DynamoDB errors the Step Functions integration names after their own exception class (the Java SDK v1
#: model it uses): code -> exception. Every other code (ThrottlingException, ValidationException,
#: ReplicatedWriteConflictException...) surfaces as DynamoDB.AmazonDynamoDBException, its code in the Cause
#: (recorded by AWS: ../shared/parity, error_handling/test_task_service_dynamodb).
DYNAMODB_MODELLED_ERRORS: dict[str, str] = {
    "ConditionalCheckFailedException": "ConditionalCheckFailedException",
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceededException",
    "ResourceNotFoundException": "ResourceNotFoundException",
    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceededException",
    "TransactionConflictException": "TransactionConflictException",
    "RequestLimitExceeded": "RequestLimitExceededException",
    "InternalServerError": "InternalServerErrorException",
}
DYNAMODB_GENERIC_ERROR = "AmazonDynamoDBException"


def dynamodb_error_name(code: str) -> str:
    """The error name Step Functions gives a DynamoDB error code: ``DynamoDB.<Exception>``."""
    return f"DynamoDB.{DYNAMODB_MODELLED_ERRORS.get(code, DYNAMODB_GENERIC_ERROR)}"


def names_dynamodb_errors(original: Callable[..., Any]) -> Any:
    """Replaces ``StateTaskServiceDynamoDB._error_cause_from_client_error`` (a staticmethod).

    moto names every error ``DynamoDB.<code>``; AWS names only the modelled ones so. The Cause keeps
    moto's (AWS's) format: ``<message> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: <code>; ...)``.
    """

    def _error_cause_from_client_error(client_error: Any) -> tuple[str, str]:
        _, cause = original(client_error)
        return dynamodb_error_name(client_error.response["Error"]["Code"]), cause

    return staticmethod(_error_cause_from_client_error)
