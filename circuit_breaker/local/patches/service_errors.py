"""Errors of service-integration tasks, named as Step Functions names them."""

from __future__ import annotations

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
