"""Execution histories as AWS records them: fixes found by replaying AWS's recordings (make parity).

Each test runs a small state machine directly on the session engine and checks the one thing AWS's
recording showed the engine getting wrong (the recording is named in the fix's module docstring).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from circuit_breaker.client.calls import wait_for_execution
from circuit_breaker.local.engine import LocalEngine
from tests.engine.test_moto_patches import jsonata_machine


def run_history(engine: LocalEngine, definition: dict, document: object = None, kind: str = "STANDARD") -> tuple[dict, list[dict]]:
    """Run ``definition`` once; its description and its history's events (without timestamps)."""
    sfn = engine.session().client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"history-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/probe",
        type=kind,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(document if document is not None else {}))["executionArn"]
    described = wait_for_execution(sfn, execution, poll_interval=0.01, timeout=30)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    for event in events:
        event.pop("timestamp", None)
    return described, events


def chain(events: list[dict]) -> list[tuple[int, int, str]]:
    """(id, previousEventId, type) of each event."""
    return [(event["id"], event["previousEventId"], event["type"]) for event in events]


def evaluation_failed(state: str, entered: int, location: str, message: str) -> dict:
    """The details of AWS's EvaluationFailed event for ``state`` (entered at event ``entered``)."""
    return {
        "error": "States.QueryEvaluationError",
        "cause": f"An error occurred while executing the state '{state}' (entered at the event id #{entered}). {message}",
        "location": location,
        "state": state,
    }


def failing_task(name: str = "Fail", **extra: Any) -> dict:
    """A Task state that fails on every engine: a DynamoDB read of a table that does not exist."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": f"no-such-table-{name}", "Key": {"id": {"S": "x"}}},
        **extra,
    }


def test_a_task_failing_a_parallel_branch_is_recorded_as_aborted(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "T", "States": {"T": failing_task(End=True)}}]}},
        },
    )
    assert described["status"] == "FAILED"
    assert chain(events)[6:] == [
        (7, 6, "TaskFailed"),
        (8, 7, "TaskStateAborted"),
        (9, 7, "ParallelStateFailed"),
        (10, 9, "ExecutionFailed"),
    ]


def test_a_states_error_leaving_a_branch_fails_the_parallel_state_with_it(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        jsonata_machine(
            {"P": {"Type": "Parallel", "End": True, "Branches": [jsonata_machine({"Bad": {"Type": "Pass", "Output": "{% $number('x') %}", "End": True}}, "Bad")]}},
            "P",
        ),
    )
    assert described["status"] == "FAILED"
    assert [event["type"] for event in events][-3:] == ["EvaluationFailed", "ParallelStateFailed", "ExecutionFailed"]
    assert "PassStateAborted" not in [event["type"] for event in events]  # only Task states are aborted
    failed = events[-1]["executionFailedEventDetails"]
    assert failed["error"] == "States.QueryEvaluationError"
    # The inner state's cause, passed on as it is (not decorated again with the Parallel state).
    assert failed["cause"] == events[-3]["evaluationFailedEventDetails"]["cause"]
    assert failed["cause"].startswith("An error occurred while executing the state 'Bad' (entered at the event id #4). ")


def test_a_states_error_leaving_a_map_iteration_fails_the_map_state_with_it(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        jsonata_machine(
            {
                "M": {
                    "Type": "Map",
                    "Items": [1],
                    "End": True,
                    "ItemProcessor": {"StartAt": "Bad", "States": {"Bad": {"Type": "Pass", "Output": {"error": "{% $nothing %}"}, "End": True}}},
                }
            },
            "M",
        ),
    )
    assert described["status"] == "FAILED"
    assert [event["type"] for event in events][-4:] == ["EvaluationFailed", "MapIterationFailed", "MapStateFailed", "ExecutionFailed"]
    failed = events[-1]["executionFailedEventDetails"]
    assert failed["error"] == "States.QueryEvaluationError"
    assert failed["cause"] == events[-4]["evaluationFailedEventDetails"]["cause"]


def test_an_evaluation_failure_names_the_field_path_and_follows_the_event_before_the_state(engine: LocalEngine) -> None:
    _, events = run_history(
        engine,
        jsonata_machine(
            {
                "First": {"Type": "Pass", "Next": "Second"},
                "Second": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True},
            },
            "First",
        ),
    )
    assert chain(events)[3:] == [(4, 3, "PassStateEntered"), (5, 3, "EvaluationFailed"), (6, 5, "ExecutionFailed")]
    assert events[4]["evaluationFailedEventDetails"] == evaluation_failed(
        "Second", 4, "Output/result", "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
    )


def test_an_assign_failure_names_the_variable(engine: LocalEngine) -> None:
    _, events = run_history(
        engine,
        jsonata_machine({"S": {"Type": "Pass", "Assign": {"kept": 1, "result": "{% $nope %}"}, "End": True}}, "S"),
    )
    assert events[2]["evaluationFailedEventDetails"]["location"] == "Assign/result"


def test_a_task_records_its_arguments_evaluation_failure_once(engine: LocalEngine) -> None:
    _, events = run_history(
        engine,
        jsonata_machine(
            {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": "{% $nope %}"}, "End": True}},
            "T",
        ),
    )
    assert chain(events) == [(1, 0, "ExecutionStarted"), (2, 0, "TaskStateEntered"), (3, 0, "EvaluationFailed"), (4, 3, "ExecutionFailed")]
    assert events[2]["evaluationFailedEventDetails"]["location"] == "Arguments/FunctionName"


def test_a_jsonata_wait_timestamp_that_is_not_iso_8601_is_a_query_evaluation_error(engine: LocalEngine) -> None:
    _, events = run_history(
        engine,
        jsonata_machine({"W": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "End": True}}, "W"),
        {"at": "2016-12-05 21:29:29Z"},
    )
    assert chain(events) == [(1, 0, "ExecutionStarted"), (2, 0, "WaitStateEntered"), (3, 2, "EvaluationFailed"), (4, 3, "ExecutionFailed")]
    assert events[2]["evaluationFailedEventDetails"] == evaluation_failed(
        "W", 2, "Timestamp", "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05 21:29:29Z"
    )


def test_output_path_sees_the_variables_from_before_the_state(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "Second"},
                "Second": {"Type": "Pass", "OutputPath": "$answer", "Assign": {"answer": "changed"}, "End": True},
            },
        },
    )
    assert json.loads(described["output"]) == 42
    assert events[4]["stateExitedEventDetails"]["assignedVariables"] == {"answer": '"changed"'}


def test_jsonata_output_sees_the_variables_from_before_the_state(engine: LocalEngine) -> None:
    described, _ = run_history(
        engine,
        jsonata_machine(
            {
                "First": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Second"},
                "Second": {"Type": "Pass", "Assign": {"x": 2}, "Output": "{% $x %}", "Next": "Third"},
                "Third": {"Type": "Pass", "Output": "{% [$states.input, $x] %}", "End": True},
            },
            "First",
        ),
    )
    assert json.loads(described["output"]) == [1, 2]


def test_assigned_strings_are_json_strings(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        {
            "StartAt": "Keep",
            "States": {
                "Keep": {"Type": "Pass", "Assign": {"quote": '"', "json": '{"key":"value"}'}, "Next": "Use"},
                "Use": {"Type": "Pass", "Parameters": {"parsed.$": "States.StringToJson($json)", "quote.$": "$quote"}, "End": True},
            },
        },
    )
    assert json.loads(described["output"]) == {"parsed": {"key": "value"}, "quote": '"'}
    assert events[2]["stateExitedEventDetails"]["assignedVariables"] == {"quote": '"\\""', "json": '"{\\"key\\":\\"value\\"}"'}


def test_a_distributed_map_exits_after_its_map_run_started(engine: LocalEngine) -> None:
    described, events = run_history(
        engine,
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Item",
                        "States": {"Item": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        },
        [1, 2],
    )
    assert described["status"] == "SUCCEEDED"
    by_type = {event["type"]: event for event in events}
    started = by_type["MapRunStarted"]["id"]
    assert by_type["MapRunSucceeded"]["previousEventId"] == started
    assert by_type["MapStateSucceeded"]["previousEventId"] == by_type["MapRunSucceeded"]["id"]
    assert by_type["MapStateExited"]["previousEventId"] == started


def test_a_path_that_selects_nothing_is_worded_as_aws_and_names_the_entered_event(engine: LocalEngine) -> None:
    table = f"paths-{uuid.uuid4().hex[:8]}"
    engine.session().client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    read = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "Parameters": {"TableName": table, "Key": {"id": {"S": "x"}}}}
    described, events = run_history(
        engine, {"StartAt": "Read", "States": {"Read": {**read, "OutputPath": "$.no.such.path", "End": True}}}
    )
    assert [event["type"] for event in events][-2:] == ["TaskSucceeded", "ExecutionFailed"]  # as AWS recorded it
    assert described["cause"] == (
        "An error occurred while executing the state 'Read' (entered at the event id #2). "
        "Invalid path '$.no.such.path' : Missing property in path $['no']"
    )
    described, _ = run_history(engine, {"StartAt": "Read", "States": {"Read": {**read, "OutputPath": "$.SdkHttpMetadata.nope", "End": True}}})
    assert described["cause"].endswith("Invalid path '$.SdkHttpMetadata.nope' : No results for path: $['SdkHttpMetadata']['nope']")


def test_an_expression_that_throws_is_reported_with_jsonatas_error_code(engine: LocalEngine) -> None:
    _, events = run_history(engine, jsonata_machine({"S": {"Type": "Pass", "Output": {"r": "{% $nothing(1) %}"}, "End": True}}, "S"))
    assert events[2]["evaluationFailedEventDetails"] == evaluation_failed(
        "S", 2, "Output/r", "The JSONata expression '$nothing(1)' specified for the field 'Output/r' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


def test_a_wait_longer_than_aws_allows_fails_the_execution(engine: LocalEngine) -> None:
    def wait(seconds: int) -> dict:
        return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}

    described, events = run_history(engine, wait(2**31))
    assert chain(events) == [(1, 0, "ExecutionStarted"), (2, 0, "WaitStateEntered"), (3, 2, "ExecutionFailed")]
    assert (described["error"], described["cause"]) == (
        "States.Runtime",
        "An error occurred while executing the state 'W' (entered at the event id #2). Wait state delay is too long.",
    )
    assert run_history(engine, wait(2**31 - 1))[0]["status"] == "SUCCEEDED"  # the engine's clock does not sleep in tests
