"""The local engine's patches to moto: each still has something to patch, and each gap is covered.

If a moto upgrade moves or renames a patched attribute, ``test_every_patch_point_still_exists``
fails and names it; the behaviour tests below show each gap of DESIGN.md section 8 closed, on
small state machines created directly on the engine.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
import json
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from circuit_breaker.client.calls import wait_for_execution
from circuit_breaker.local import patches
from circuit_breaker.local.patches import active
from circuit_breaker.local.engine import LocalEngine
from circuit_breaker.local.patches import PATCH_POINTS, UnsupportedMotoVersionError
from circuit_breaker.local.throughput import ItemLimits, ManualClock


@pytest.mark.parametrize("point", PATCH_POINTS, ids=lambda p: p.attribute)
def test_every_patch_point_still_exists(point: patches.PatchPoint) -> None:
    owner, name = point.resolve()
    if point.adds:
        # An added attribute is missing from moto (or is ours, once installed); resolve() refuses moto's own.
        assert owner is not None
    else:
        assert getattr(owner, name) is not None


def test_the_patches_are_installed_on_a_running_engine(engine: LocalEngine) -> None:
    installed = active.installed()
    assert installed is not None
    replaced = [p for p in PATCH_POINTS if p.target in installed.originals]
    assert replaced == [p for p in PATCH_POINTS if p.patch is not None]
    assert len(replaced) == len(PATCH_POINTS) - 2  # the SSM parameter store and the CloudFormation model map are added to, not replaced
    for point in replaced:
        if point.adds:
            owner, name = point.resolve()
            assert getattr(owner, name)._breaker_added
            continue
        owner, name = point.resolve()
        current = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        assert current is not installed.originals[point.target], f"{point.target} is not patched"


def test_another_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "version", lambda _: "5.3.0")
    with pytest.raises(UnsupportedMotoVersionError, match="moto 5.3.0 is installed"):
        patches.check_moto_version()


def run_definition(engine: LocalEngine, definition: dict, document: object = None) -> dict:
    sfn = engine.session().client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"probe-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/probe",
        type="EXPRESS",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(document if document is not None else {}))["executionArn"]
    return wait_for_execution(sfn, execution, poll_interval=0.01, timeout=30)


def jsonata_machine(states: dict, start: str) -> dict:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


def test_strings_with_quotes_and_backslashes_survive_as_variables(engine: LocalEngine) -> None:
    text = 'say "hi" \\ and \\"escape\\" {% not an expression %}'
    described = run_definition(
        engine,
        jsonata_machine(
            {
                "Keep": {"Type": "Pass", "Assign": {"text": "{% $states.input.text %}"}, "Next": "Use"},
                "Use": {"Type": "Pass", "Output": "{% {'same': $text = $states.input.text, 'text': $text} %}", "End": True},
            },
            "Keep",
        ),
        {"text": text},
    )
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"same": True, "text": text}


def test_a_failing_expression_is_a_catchable_query_evaluation_error(engine: LocalEngine) -> None:
    described = run_definition(
        engine,
        jsonata_machine(
            {
                "Broken": {
                    "Type": "Pass",
                    "Output": "{% $number('not a number') %}",
                    "Next": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
            "Broken",
        ),
    )
    assert described["status"] == "FAILED" and described["error"] == "States.QueryEvaluationError"
    caught = run_definition(
        engine,
        jsonata_machine(
            {
                "Task": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Arguments": {"TableName": "t", "Key": {"K": {"S": "{% $nothing.here & 1 + 'x' %}"}}},
                    "Catch": [
                        {"ErrorEquals": ["States.QueryEvaluationError"], "Output": "{% $states.errorOutput %}", "Next": "Caught"},
                        {"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Caught"},
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Succeed"},
            },
            "Task",
        ),
    )
    # inside a DynamoDB task's Arguments it is not disguised as DynamoDB.AmazonDynamoDBException
    assert json.loads(caught["output"])["Error"] == "States.QueryEvaluationError"


def test_step_functions_jsonata_functions_are_real(engine: LocalEngine) -> None:
    described = run_definition(
        engine,
        jsonata_machine(
            {
                "Functions": {
                    "Type": "Pass",
                    "Output": "{% {'uuid': $uuid(), 'hash': $hash('abc', 'SHA-256'), 'parse': $parse('{\"a\": [1, null]}'),"
                    " 'partition': $partition([1,2,3,4,5], 2), 'range': $range(0, 10, 5), 'random': $random(7) = $random(7)} %}",
                    "End": True,
                }
            },
            "Functions",
        ),
    )
    output = json.loads(described["output"])
    assert uuid.UUID(output["uuid"]).version == 4
    assert output["hash"] == hashlib.sha256(b"abc").hexdigest()
    assert output["parse"] == {"a": [1, None]}
    assert output["partition"] == [[1, 2], [3, 4], [5]]
    assert output["range"] == [0, 5, 10]
    assert output["random"] is True


def test_eval_is_refused_as_on_aws(engine: LocalEngine) -> None:
    described = run_definition(
        engine, jsonata_machine({"Eval": {"Type": "Pass", "Output": "{% $eval('1 + 1') %}", "End": True}}, "Eval")
    )
    assert described["status"] == "FAILED" and described["error"] == "States.QueryEvaluationError"
    assert "$eval is not supported" in described["cause"]


def test_a_string_output_is_described_as_json(engine: LocalEngine) -> None:
    described = run_definition(engine, jsonata_machine({"S": {"Type": "Pass", "Output": "plain text", "End": True}}, "S"))
    assert json.loads(described["output"]) == "plain text"


def test_executions_started_without_a_name_get_their_own(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    arn = engine.deployment().state_machine_arn
    first = sfn.start_execution(stateMachineArn=arn, input='{"callee": "echo"}')["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, input='{"callee": "echo"}')["executionArn"]
    assert first != second


def test_racing_conditional_writes_have_exactly_one_winner(engine: LocalEngine) -> None:
    dynamodb = engine.session().client("dynamodb")
    table = engine.deployment().table_name
    key = f"race-{uuid.uuid4().hex[:6]}"

    def put(n: int) -> bool:
        try:
            dynamodb.update_item(
                TableName=table,
                Key={"ServiceName": {"S": key}},
                UpdateExpression="SET Winner = :n",
                ConditionExpression="attribute_not_exists(Winner)",
                ExpressionAttributeValues={":n": {"N": str(n)}},
            )
            return True
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(put, range(64)))
    assert results.count(True) == 1
    dynamodb.delete_item(TableName=table, Key={"ServiceName": {"S": key}})


def test_wait_states_wait_on_the_engine_clock(engine: LocalEngine) -> None:
    # The session engine's clock has scale 0: a 200-second Wait is recorded, not slept.
    described = run_definition(
        engine,
        jsonata_machine(
            {
                "Pause": {"Type": "Wait", "Seconds": "{% $states.input.seconds %}", "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
            "Pause",
        ),
        {"seconds": 200},
    )
    assert described["status"] == "SUCCEEDED"
    waits = engine.clock.waits(described["executionArn"], kind="wait")
    assert [(w["state"], w["seconds"]) for w in waits] == [("Pause", 200)]
    assert engine.clock.waits(described["executionArn"]) == []  # not a retry


def _put_item_machine(condition: str) -> dict:
    return jsonata_machine(
        {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Arguments": {
                    "TableName": "{% $states.input.table %}",
                    "Item": {"ServiceName": {"S": "naming-probe"}},
                    "ConditionExpression": condition,
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
        "Put",
    )


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (None, "DynamoDB.AmazonDynamoDBException", "ValidationException"),  # a broken expression
        ("ThrottlingException", "DynamoDB.AmazonDynamoDBException", "ThrottlingException"),
        ("ReplicatedWriteConflictException", "DynamoDB.AmazonDynamoDBException", "ReplicatedWriteConflictException"),
        ("ProvisionedThroughputExceededException", "DynamoDB.ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException"),
        ("RequestLimitExceeded", "DynamoDB.RequestLimitExceededException", "RequestLimitExceeded"),
        ("InternalServerError", "DynamoDB.InternalServerErrorException", "InternalServerError"),
    ],
)
def test_dynamodb_errors_are_named_as_aws_names_them(engine: LocalEngine, fault: str | None, error: str, code: str) -> None:
    # AWS (../shared/parity error_handling/test_task_service_dynamodb): unmodelled codes are AmazonDynamoDBException.
    engine.faults.clear()
    if fault:
        engine.faults.inject("dynamodb", "PutItem", fault, times=1)
    condition = "attribute_not_exists(ServiceName)" if fault else "attribute_not_exists("  # a syntax error
    try:
        described = run_definition(engine, _put_item_machine(condition), {"table": engine.deployment().table_name})
    finally:
        engine.faults.clear()
    caught = json.loads(described["output"])
    assert caught["Error"] == error
    assert f"Error Code: {code};" in caught["Cause"] and "(Service: AmazonDynamoDBv2; Status Code: " in caught["Cause"]


def test_a_choice_states_own_assign_applies_whichever_rule_matches(engine: LocalEngine) -> None:
    # AWS's Choice documentation: the state-level Assign "applies regardless of which choice rule matches";
    # a name the matched rule assigns too keeps the rule's value, and both see the variables as they were.
    machine = jsonata_machine(
        {
            "Start": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Pick"},
            "Pick": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.left %}", "Assign": {"side": "left", "n": "{% $n + 10 %}"}, "Next": "Done"}
                ],
                "Default": "Done",
                "Assign": {"side": "default", "seen": "{% $n %}", "n": "{% $n + 100 %}"},
            },
            "Done": {"Type": "Pass", "Output": "{% {'side': $side, 'seen': $seen, 'n': $n} %}", "End": True},
        },
        "Start",
    )
    assert json.loads(run_definition(engine, machine, {"left": True})["output"]) == {"side": "left", "seen": 1, "n": 11}
    assert json.loads(run_definition(engine, machine, {"left": False})["output"]) == {"side": "default", "seen": 1, "n": 101}


# -- parity with AWS's recordings (make parity): each fix found by the replay, on a small machine ----


def invoke_machine(function: str, output: str) -> dict:
    """A machine that invokes ``function`` (lambda:invoke) and outputs the JSONata ``output``."""
    invoke = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": function, "Payload": {"n": 1}},
        "Output": output,
        "End": True,
    }
    return jsonata_machine({"Invoke": invoke}, "Invoke")


def test_lambda_invoke_results_carry_the_sdk_metadata_aws_returns(engine: LocalEngine) -> None:
    described = run_definition(engine, invoke_machine(engine.function_name("Echo"), "{% $states.result %}"))
    result = json.loads(described["output"])
    assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
    headers = result["SdkHttpMetadata"]["HttpHeaders"]
    assert result["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert headers["Content-Length"] == str(len(json.dumps(result["Payload"]).encode()))
    assert result["SdkResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]
    assert uuid.UUID(headers["x-amzn-RequestId"])  # Lambda's request IDs are UUIDs


def test_dynamodb_task_results_carry_the_sdk_metadata_aws_returns(engine: LocalEngine) -> None:
    described = run_definition(
        engine,
        jsonata_machine(
            {
                "Get": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Arguments": {"TableName": engine.deployment().table_name, "Key": {"ServiceName": {"S": "nobody"}}},
                    "Output": "{% $states.result %}",
                    "End": True,
                }
            },
            "Get",
        ),
    )
    result = json.loads(described["output"])
    assert "Item" not in result
    assert result["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"] == "application/x-amz-json-1.0"
    assert result["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "2"  # {}
    assert "RequestId" in result["SdkResponseMetadata"]


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": NaN}', '{"a": Infinity}', '[-Infinity]'])
def test_input_that_is_not_json_is_refused(engine: LocalEngine, text: str) -> None:
    sfn = engine.session().client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=engine.deployment().state_machine_arn, input=text)
    assert refused.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_deeply_nested_input_runs_as_on_aws(engine: LocalEngine) -> None:
    deep = "[" * 6000 + "]" * 6000
    described = run_definition(engine, jsonata_machine({"P": {"Type": "Pass", "End": True}}, "P"), json.loads(deep))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert described["output"].replace(" ", "") == deep


def test_a_refused_definition_is_named_invalid_definition(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name="broken", definition='{"StartAt": "X", "States": {"X": {"Type": "Nope"}}}', roleArn="arn:aws:iam::123456789012:role/x")
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"


def test_express_executions_are_named_and_run_synchronously_as_on_aws(engine: LocalEngine) -> None:
    from botocore.config import Config

    sfn = engine.session().client("stepfunctions", config=Config(inject_host_prefix=False))
    arn = sfn.create_state_machine(
        name=f"sync-{uuid.uuid4().hex[:6]}",
        definition=json.dumps(jsonata_machine({"P": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": True}}, "P")),
        roleArn="arn:aws:iam::123456789012:role/x",
        type="EXPRESS",
    )["stateMachineArn"]
    answered = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 41}')
    assert answered["status"] == "SUCCEEDED" and answered["output"] == "42"
    assert ":express:" in answered["executionArn"]
    assert answered["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0
    started = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    assert started.split(":")[5] == "express" and len(started.split(":")) == 9
    assert wait_for_execution(sfn, started, poll_interval=0.01, timeout=30)["status"] == "SUCCEEDED"


def test_an_undefined_jsonata_result_is_recorded_as_evaluation_failed(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    described = run_definition(engine, jsonata_machine({"S": {"Type": "Pass", "Output": "{% $nothing %}", "End": True}}, "S"))
    assert described["status"] == "FAILED" and described["error"] == "States.QueryEvaluationError"
    events = sfn.get_execution_history(executionArn=described["executionArn"])["events"]
    failed = [e["evaluationFailedEventDetails"] for e in events if e["type"] == "EvaluationFailed"]
    assert failed and failed[0]["state"] == "S" and failed[0]["location"] == "Output"
    assert "specified for the field 'Output' returned nothing (undefined)" in failed[0]["cause"]


def test_a_payload_that_is_not_json_is_kept_as_text(engine: LocalEngine) -> None:
    # The Python runtime writes a NaN answer as NaN (not JSON); Step Functions keeps such a payload as text.
    function = engine.function_name("Echo")
    engine.runtime.script(function, b"NaN", function_error=None)
    try:
        described = run_definition(engine, invoke_machine(function, "{% $states.result.Payload %}"))
    finally:
        engine.runtime.clear_scripts()
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == "NaN"


def test_the_context_object_reads_as_on_aws(engine: LocalEngine) -> None:
    described = run_definition(engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution"}, "End": True}}})
    execution = json.loads(described["output"])["execution"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", execution["StartTime"])
    assert execution["RedriveCount"] == 0


def test_a_sync_execution_has_no_redrive_count_in_its_context_object(engine: LocalEngine) -> None:
    # AWS recorded both kinds of Express execution the same day: $$.Execution.RedriveCount in an
    # asynchronous one, none in a synchronous one (which cannot be redriven).
    sfn = engine.session().client("stepfunctions", config=Config(inject_host_prefix=False))
    arn = sfn.create_state_machine(
        name=f"sync-context-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution"}, "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/probe",
        type="EXPRESS",
    )["stateMachineArn"]
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert answer["status"] == "SUCCEEDED"
    assert "RedriveCount" not in json.loads(answer["output"])["execution"]


def test_a_null_input_reaches_a_function_arn_task_as_null(engine: LocalEngine) -> None:
    # AWS recorded a function answering a null input with null when the Task's Resource is the function's
    # ARN (../shared/parity/localstack-sfn/v2/services/test_lambda_task.snapshot.json,
    # test_invoke_json_values[None]); moto sent {}.
    arn = engine.session().client("lambda").get_function(FunctionName=engine.function_name("Echo"))["Configuration"]["FunctionArn"]
    machine = {"StartAt": "Invoke", "States": {"Invoke": {"Type": "Task", "Resource": arn, "InputPath": "$.value", "End": True}}}
    assert run_definition(engine, machine, {"value": None})["output"] == "null"


def test_a_null_payload_of_lambda_invoke_reaches_the_function_as_an_empty_event(engine: LocalEngine) -> None:
    # lambda:invoke leaves a null Payload out of its Invoke request; AWS recorded the function's answer {}
    # (../shared/parity/localstack-sfn/v2/services/test_lambda_task_service.snapshot.json, test_invoke).
    machine = jsonata_machine(
        {"Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": engine.function_name("Echo"), "Payload": None},
                    "Output": "{% $states.result.Payload %}", "End": True}},
        "Invoke",
    )
    assert json.loads(run_definition(engine, machine)["output"]) == {}


def _status_events_to_queue(engine: LocalEngine, machine_arn: str) -> tuple[object, str]:
    """An SQS queue receiving the default bus's aws.states events of one state machine."""
    session = engine.session()
    sqs, events = session.client("sqs"), session.client("events")
    name = f"status-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"], "detail": {"stateMachineArn": [machine_arn]}}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return sqs, url


def _received(sqs: object, url: str, expected: int, seconds: float = 3.0) -> list[dict]:
    import time

    bodies: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(bodies) < expected:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):  # type: ignore[attr-defined]
            bodies.append(json.loads(message["Body"]))
        time.sleep(0.02)
    return bodies


@pytest.mark.parametrize(("machine_type", "expected"), [("STANDARD", ["RUNNING", "SUCCEEDED"]), ("EXPRESS", [])])
def test_standard_executions_publish_their_status_changes_to_eventbridge(engine: LocalEngine, machine_type: str, expected: list[str]) -> None:
    # AWS sends "Step Functions Execution Status Change" events to the default bus for Standard workflows
    # only (Express workflows emit none); recorded: ../shared/parity/localstack-sfn/v2/base/test_base.snapshot.json,
    # test_event_bridge_events_base.
    sfn = engine.session().client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"status-{machine_type.lower()}-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"done": True}, "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/probe",
        type=machine_type,
    )["stateMachineArn"]
    sqs, url = _status_events_to_queue(engine, machine)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    assert wait_for_execution(sfn, execution, poll_interval=0.01, timeout=30)["status"] == "SUCCEEDED"
    events = sorted(_received(sqs, url, len(expected) or 1, seconds=3.0 if expected else 0.5), key=lambda e: e["detail"]["status"])
    assert [e["detail"]["status"] for e in events] == expected
    for event in events:
        assert event["source"] == "aws.states" and event["detail-type"] == "Step Functions Execution Status Change"
        assert event["resources"] == [execution] and event["detail"]["executionArn"] == execution
        assert event["detail"]["stateMachineArn"] == machine and json.loads(event["detail"]["input"]) == {"n": 1}
    if expected:
        running, succeeded = events
        assert running["detail"]["stopDate"] is None and running["detail"]["output"] is None
        assert running["detail"]["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
        assert json.loads(succeeded["detail"]["output"]) == {"done": True}
        assert succeeded["detail"]["outputDetails"] == {"included": True}
        assert succeeded["detail"]["stopDate"] >= succeeded["detail"]["startDate"]


def test_a_failed_execution_publishes_its_error_and_cause(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"status-fail-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}}),
        roleArn="arn:aws:iam::123456789012:role/probe",
    )["stateMachineArn"]
    sqs, url = _status_events_to_queue(engine, machine)
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    assert wait_for_execution(sfn, execution, poll_interval=0.01, timeout=30)["status"] == "FAILED"
    ended = [e["detail"] for e in _received(sqs, url, 2) if e["detail"]["status"] != "RUNNING"]
    assert len(ended) == 1 and ended[0]["status"] == "FAILED"
    assert (ended[0]["error"], ended[0]["cause"], ended[0]["output"]) == ("Boom", "on purpose", None)
    assert ended[0]["redriveStatus"] == "REDRIVABLE"


@pytest.fixture
def number_table(engine: LocalEngine):
    """A table of its own, for items no workflow would write."""
    dynamodb = engine.session().client("dynamodb")
    name = f"numbers-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    yield dynamodb, name
    dynamodb.delete_table(TableName=name)


#: 1e38 has 39 digits but one significant digit: DynamoDB holds it (leading and trailing zeros are trimmed).
WIDE = "1" + "0" * 38
ITEM = {
    "k": {"S": "a"},
    "wide": {"N": WIDE},
    "m": {"M": {"a": {"N": "-" + WIDE}, "b": {"S": "x"}, "l": {"L": [{"M": {"x": {"N": WIDE + ".000"}, "y": {"BOOL": True}}}]}}},
    "l": {"L": [{"N": "0"}, {"B": b"\x00\xff"}, {"NS": [WIDE, "1"]}, {"NULL": True}]},
    "s": {"SS": ["p", "q"]},
}


@pytest.mark.parametrize(
    ("projection", "expected"),
    [
        ("wide", {"wide": {"N": WIDE}}),
        ("m.a, m.l[0].x, s", {"m": {"M": {"a": {"N": "-" + WIDE}, "l": {"L": [{"M": {"x": {"N": WIDE + ".000"}}}]}}}, "s": {"SS": ["p", "q"]}}),
        ("l[2], l[1], l[9]", {"l": {"L": [{"B": b"\x00\xff"}, {"NS": [WIDE, "1"]}]}}),
        ("m.b, m", {"m": ITEM["m"]}),
        ("nothing, m.nothing, wide.nothing, l[0].nothing", {}),
        ("#k, #w", {"k": {"S": "a"}, "wide": {"N": WIDE}}),
    ],
)
def test_a_projection_answers_the_stored_values_whatever_their_digits(number_table, projection: str, expected: dict) -> None:
    # moto projected through boto3's TypeDeserializer, whose decimal context traps Rounded past 38 digits: an internal error
    dynamodb, table = number_table
    dynamodb.put_item(TableName=table, Item=ITEM)
    names = {"#k": "k", "#w": "wide"} if "#" in projection else {}
    extra = {"ExpressionAttributeNames": names} if names else {}
    got = dynamodb.get_item(TableName=table, Key={"k": {"S": "a"}}, ProjectionExpression=projection, **extra).get("Item", {})
    assert _sorted_sets(got) == _sorted_sets(expected)
    [scanned] = dynamodb.scan(TableName=table, ProjectionExpression=projection, **extra).get("Items", [{}])
    assert _sorted_sets(scanned) == _sorted_sets(expected)


def _sorted_sets(item: dict) -> dict:
    """Sets come back in any order, as on AWS."""
    def value(v: dict) -> dict:
        (kind, inner), = v.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(inner)}
        if kind == "M":
            return {kind: {k: value(x) for k, x in inner.items()}}
        if kind == "L":
            return {kind: [value(x) for x in inner]}
        return v
    return {k: value(v) for k, v in item.items()}


@pytest.mark.parametrize(
    ("number", "message"),
    [
        # DynamoDB's own messages for numbers it cannot hold (its developer guide: 38 significant digits,
        # magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125)
        ("1" * 39, "Attempting to store more than 38 significant digits in a Number"),
        ("-0.000" + "7" * 39, "Attempting to store more than 38 significant digits in a Number"),
        ("1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("-10" + "0" * 125, "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ],
)
def test_a_number_dynamodb_cannot_hold_is_refused_as_dynamodb_refuses_it(number_table, number: str, message: str) -> None:
    dynamodb, table = number_table
    requests = [
        lambda: dynamodb.put_item(TableName=table, Item={"k": {"S": "b"}, "n": {"N": number}}),
        lambda: dynamodb.put_item(TableName=table, Item={"k": {"S": "b"}, "n": {"L": [{"NS": ["1", number]}]}}),
        lambda: dynamodb.update_item(
            TableName=table, Key={"k": {"S": "b"}}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": number}}
        ),
    ]
    for request in requests:
        with pytest.raises(ClientError) as refused:
            request()
        assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"k": {"S": "b"}})


@pytest.mark.parametrize("number", ["9.9999999999999999999999999999999999999E+125", "-1E-130", WIDE, "0.00000" + "9" * 38, "0"])
def test_a_number_within_dynamodb_s_range_is_held(number_table, number: str) -> None:
    dynamodb, table = number_table
    dynamodb.put_item(TableName=table, Item={"k": {"S": "c"}, "n": {"N": number}})
    assert dynamodb.get_item(TableName=table, Key={"k": {"S": "c"}}, ProjectionExpression="n")["Item"] == {"n": {"N": number}}


def _probe_table(engine: LocalEngine) -> tuple[object, str, str]:
    """A table of its own (hash key ``K``) and a DynamoDB client that does not retry (boto3 would retry throttles)."""
    dynamodb = engine.session().client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    name = f"units-{uuid.uuid4().hex[:8]}"
    arn = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "K", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "K", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    return dynamodb, name, arn


def _units(answer: dict) -> float:
    return answer["ConsumedCapacity"]["CapacityUnits"]


def test_capacity_units_are_counted_as_dynamodb_counts_them(engine: LocalEngine) -> None:
    # DynamoDB's read-write-operations.html: 1 read unit per 4 KB strongly consistent, half eventually, the minimum
    # for a missing item; 1 write unit per KB of the larger of before and after; a failed condition still consumes.
    dynamodb, table, _ = _probe_table(engine)
    total = {"ReturnConsumedCapacity": "TOTAL"}
    big = {"K": {"S": "big"}, "data": {"S": "x" * 5_000}}  # about 4.9 KB: two read units, five write units
    assert _units(dynamodb.put_item(TableName=table, Item=big, **total)) == 5.0
    assert _units(dynamodb.get_item(TableName=table, Key={"K": {"S": "big"}}, ConsistentRead=True, **total)) == 2.0
    assert _units(dynamodb.get_item(TableName=table, Key={"K": {"S": "big"}}, **total)) == 1.0
    assert _units(dynamodb.get_item(TableName=table, Key={"K": {"S": "none"}}, ConsistentRead=True, **total)) == 1.0
    assert _units(dynamodb.get_item(TableName=table, Key={"K": {"S": "none"}}, **total)) == 0.5
    # a projection does not make a read cheaper: the item's size counts
    assert _units(dynamodb.get_item(TableName=table, Key={"K": {"S": "big"}}, ConsistentRead=True, ProjectionExpression="K", **total)) == 2.0
    shrunk = dynamodb.update_item(TableName=table, Key={"K": {"S": "big"}}, UpdateExpression="REMOVE #d", ExpressionAttributeNames={"#d": "data"}, **total)
    assert _units(shrunk) == 5.0  # the larger of before (5 KB) and after


def test_an_item_past_its_per_second_limit_is_refused_as_dynamodb_refuses_it(engine: LocalEngine) -> None:
    dynamodb, table, arn = _probe_table(engine)
    dynamodb.put_item(TableName=table, Item={"K": {"S": "hot"}})
    clock = ManualClock()
    engine.throughput.enforce(ItemLimits(clock=clock))
    try:
        # The rest of this second's 3,000 read units go to the item's other readers (accounted as served requests).
        engine.throughput.consume(table, "hot", "read", 2_999.5)
        dynamodb.get_item(TableName=table, Key={"K": {"S": "hot"}})  # eventually consistent: the last half unit
        with pytest.raises(ClientError) as refused:
            dynamodb.get_item(TableName=table, Key={"K": {"S": "hot"}}, ConsistentRead=True)
        error = refused.value.response
        assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert error["Error"]["Message"] == "The level of configured provisioned throughput for the table was exceeded."
        assert error["ThrottlingReasons"] == [{"reason": "TableReadKeyRangeThroughputExceeded", "resource": arn}]
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        # per item and per direction: another item, and writes of this one, are served
        dynamodb.get_item(TableName=table, Key={"K": {"S": "cold"}}, ConsistentRead=True)
        dynamodb.put_item(TableName=table, Item={"K": {"S": "hot"}, "n": {"N": "1"}})
        # a refused request consumed nothing; a second later the item reads again
        assert engine.throughput.available(table, "hot", "read") == 0.0
        clock.advance(1.0)
        dynamodb.get_item(TableName=table, Key={"K": {"S": "hot"}}, ConsistentRead=True)

        engine.throughput.consume(table, "hot", "write", 999.0)  # the item's second of write units, but one
        with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
            dynamodb.put_item(TableName=table, Item={"K": {"S": "hot"}}, ConditionExpression="attribute_not_exists(K)")
        # the failed condition consumed its unit: the next write is refused
        with pytest.raises(ClientError) as refused:
            dynamodb.update_item(TableName=table, Key={"K": {"S": "hot"}}, UpdateExpression="SET n = :one", ExpressionAttributeValues={":one": {"N": "1"}})
        assert refused.value.response["ThrottlingReasons"] == [{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": arn}]
        assert [(r.key, r.direction) for r in engine.throughput.refusals] == [("hot", "read"), ("hot", "write")]
    finally:
        engine.throughput.enforce(None)
    dynamodb.get_item(TableName=table, Key={"K": {"S": "hot"}}, ConsistentRead=True)  # not enforced: any rate
