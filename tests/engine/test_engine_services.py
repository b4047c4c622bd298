"""Definitions refused, and services answering, as AWS recorded them (make parity found each difference).

Each test talks to the session engine directly: a state machine created from a small definition, or the
service called as a Step Functions task (or as the task's SDK client) calls it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from circuit_breaker.local.engine import LocalEngine
from tests.engine.test_engine_history import run_history


def refusal(engine: LocalEngine, definition: dict, kind: str = "STANDARD") -> str:
    """The message of the InvalidDefinition error creating ``definition`` gets."""
    sfn = engine.session().client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(
            name=f"refused-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/probe",
            type=kind,
        )
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    return refused.value.response["Error"]["Message"]


def test_an_intrinsic_function_with_an_illegal_escape_is_refused_where_it_is(engine: LocalEngine) -> None:
    message = refusal(
        engine,
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"parsed.$": "States.StringToJson('{\"a\":\"say \\\"hi\\\"\"}')"}, "End": True}},
        },
    )
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'parsed.$' must be a valid "
        "JSONPath or a valid intrinsic function call at /States/P/Parameters'"
    )


def test_an_unknown_integration_is_refused_at_its_state(engine: LocalEngine) -> None:
    message = refusal(
        engine,
        {
            "StartAt": "Query",
            "States": {"Query": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query", "Parameters": {"TableName": "t"}, "End": True}},
        },
    )
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:query is "
        "not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/Query/Resource'"
    )


def test_an_express_machine_cannot_wait_for_a_task_token(engine: LocalEngine) -> None:
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "Publish",
                        "States": {
                            "Publish": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
                                "End": True,
                            }
                        },
                    }
                ],
            }
        },
    }
    assert refusal(engine, definition, "EXPRESS").endswith(
        "'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  "
        "at /States/Outer/Branches/0/States/Publish/Resource'"
    )


def _task(resource: str, parameters: dict[str, Any]) -> dict:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}}}


def _failure(events: list[dict]) -> dict:
    return next(event["taskFailedEventDetails"] for event in events if event["type"] == "TaskFailed")


def test_a_put_item_without_an_item_is_a_validation_error(engine: LocalEngine) -> None:
    _, events = run_history(engine, _task("arn:aws:states:::dynamodb:putItem", {"TableName": "t", "Item.$": "$.item"}), {"item": None})
    failed = _failure(events)
    assert failed["error"] == "DynamoDB.AmazonDynamoDBException"
    assert failed["cause"].startswith(
        "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null "
        "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException;"
    )


def test_a_table_name_with_illegal_characters_is_a_validation_error(engine: LocalEngine) -> None:
    _, events = run_history(engine, _task("arn:aws:states:::dynamodb:putItem", {"TableName": "/t", "Item": {"id": {"S": "x"}}}))
    assert _failure(events)["cause"].startswith(
        "1 validation error detected: Value '/t' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ (Service: AmazonDynamoDBv2;"
    )


def test_update_item_answers_consumed_capacity_only_when_asked(engine: LocalEngine) -> None:
    dynamodb = engine.session().client("dynamodb")
    table = f"capacity-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    update = {"TableName": table, "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}}
    assert "ConsumedCapacity" not in dynamodb.update_item(**update)
    assert "ConsumedCapacityUnits" not in dynamodb.delete_item(TableName=table, Key={"id": {"S": "a"}})
    assert dynamodb.update_item(**update, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["TableName"] == table


def test_invoking_a_missing_function_names_its_latest_version(engine: LocalEngine) -> None:
    with pytest.raises(ClientError) as missing:
        engine.session().client("lambda").invoke(FunctionName="no-such-function", Payload=b"{}")
    assert missing.value.response["Error"]["Message"].endswith(":function:no-such-function:$LATEST")


def test_put_events_refuses_a_detail_that_is_not_an_object_and_the_task_names_the_failed_entry(engine: LocalEngine) -> None:
    entries = [
        {"Source": "s", "DetailType": "d", "Detail": {"Message": "ok"}},
        {"Source": "s", "DetailType": "d", "Detail": '"jsonstring"'},
    ]
    _, events = run_history(engine, _task("arn:aws:states:::events:putEvents", {"Entries.$": "$.entries"}), {"entries": entries})
    failed = _failure(events)
    assert failed["error"] == "EventBridge.FailedEntry"
    assert (failed["resource"], failed["resourceType"]) == ("putEvents", "events")
    cause = json.loads(failed["cause"])
    assert cause["FailedEntryCount"] == 1
    assert cause["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert set(cause["Entries"][0]) == {"EventId"}


def test_delivered_events_carry_their_account(engine: LocalEngine) -> None:
    session = engine.session()
    sqs, events = session.client("sqs"), session.client("events")
    name = f"delivered-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": name, "DetailType": "d", "Detail": "{}"}])
    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert body["account"] == arn.split(":")[4]


def test_a_task_role_the_execution_cannot_assume_fails_the_task(engine: LocalEngine) -> None:
    iam = engine.session().client("iam")
    trusted = iam.create_role(
        RoleName=f"task-role-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/probe"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    missing = trusted.rsplit("/", 1)[0] + "/no-such-role"

    def task_with(role: str) -> dict:
        definition = _task("arn:aws:states:::dynamodb:getItem", {"TableName": "no-such-table", "Key": {"id": {"S": "x"}}})
        definition["States"]["T"]["Credentials"] = {"RoleArn": role}
        return definition

    _, events = run_history(engine, task_with(missing))
    assert [event["type"] for event in events][-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]
    assert _failure(events) == {
        "resourceType": "dynamodb",
        "resource": "getItem",
        "error": "States.TaskFailed",
        "cause": f"The role arn:aws:iam::123456789012:role/probe is not authorized to assume the task state's role, {missing}.",
    }
    _, events = run_history(engine, task_with(trusted))
    assert _failure(events)["error"] == "DynamoDB.ResourceNotFoundException"  # the call was made, as the role


def test_describe_execution_answers_every_field_aws_answers(engine: LocalEngine) -> None:
    failed, _ = run_history(engine, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    assert failed["inputDetails"] == {"included": True}
    assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")
    succeeded, _ = run_history(engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert (succeeded["redriveStatus"], succeeded["redriveStatusReason"]) == ("NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven")


def test_an_express_machine_cannot_use_an_activity(engine: LocalEngine) -> None:
    activity = engine.session().client("stepfunctions").create_activity(name=f"activity-{uuid.uuid4().hex[:8]}")["activityArn"]
    definition = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    assert refusal(engine, definition, "EXPRESS").endswith(
        "'SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/Work/Resource'"
    )
