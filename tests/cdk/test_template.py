"""The synthesized template and definition asset: what ``cdk deploy`` would ship (DESIGN.md sections 3-5)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from circuit_breaker.local.patches import substitute_definition
from circuit_breaker.aws.definition import jsonata_literal_text
from tests.conftest import INSPECTOR_ARN, RECORDER_ARN, RELAY_ARN, STATIC_ANSWER, TEST_CALLEES


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


def logical_id(template: dict[str, Any], kind: str, prefix: str) -> str:
    return next(name for name in resources(template, kind) if name.startswith(prefix))


@pytest.fixture(scope="module")
def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::StepFunctions::StateMachine")["Properties"]


@pytest.fixture(scope="module")
def definition(assembly: Path, state_machine: dict[str, Any]) -> dict[str, Any]:
    """The definition asset with the registry substituted (tokens rendered as markers)."""
    key = state_machine["DefinitionS3Location"]["Key"]
    text = (assembly / f"asset.{key}").read_text()
    registry = state_machine["DefinitionSubstitutions"]["Registry"]
    rendered = "".join(p if isinstance(p, str) else "ARN" for p in registry["Fn::Join"][1])
    substitutions = {"TableName": "table", "MaxDepth": state_machine["DefinitionSubstitutions"]["MaxDepth"], "Registry": rendered}
    return json.loads(substitute_definition(text, substitutions))


def test_the_workflow_is_an_express_state_machine_with_tracing_and_full_logging(template: dict[str, Any], state_machine: dict[str, Any]) -> None:
    assert state_machine["StateMachineType"] == "EXPRESS"
    assert state_machine["TracingConfiguration"] == {"Enabled": True}
    logging = state_machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    log_group = logical_id(template, "AWS::Logs::LogGroup", "CircuitBreakerExecutionLogs")
    assert logging["Destinations"] == [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]}}}]
    group = template["Resources"][log_group]["Properties"]
    assert group["RetentionInDays"] == 30
    assert group["LogGroupName"].startswith("/aws/vendedlogs/states/")


def test_the_definition_comes_from_the_asl_file_with_substitutions(template: dict[str, Any], state_machine: dict[str, Any], definition: dict[str, Any]) -> None:
    assert "DefinitionS3Location" in state_machine and "DefinitionString" not in state_machine
    table = logical_id(template, "AWS::DynamoDB::Table", "CircuitBreakerCircuitStatus")
    substitutions = state_machine["DefinitionSubstitutions"]
    assert substitutions["TableName"] == {"Ref": table}
    assert substitutions["MaxDepth"] == "16"
    source = json.loads((Path(__file__).resolve().parents[2] / "statemachine" / "circuit_breaker.asl.json").read_text())
    assert definition["QueryLanguage"] == "JSONata"
    assert set(definition["States"]) == set(source["States"])


def test_the_registry_names_every_callee_with_its_settings(state_machine: dict[str, Any]) -> None:
    registry = _registry(state_machine["DefinitionSubstitutions"]["Registry"]["Fn::Join"][1])
    assert sorted(registry) == sorted(["echo", "flaky", *TEST_CALLEES])
    assert registry["echo"] == {
        "functionArn": "ARN(Echo)",
        "metricId": 1,
        "failureThreshold": 5,
        "failureWindowSeconds": 60,
        "breakSeconds": 30,
        "maxBreakSeconds": 300,
        "timeoutSeconds": 10,
        "probeLeaseSeconds": 15,
        "onStoreError": "call",
        "ignoredErrors": [],
        "retry": {"intervalSeconds": 1, "backoffRate": 2.0, "maxAttempts": 3, "maxDelaySeconds": 8, "jitter": "FULL"},
        "deadlineSeconds": 50,
        "fallback": None,
        "failureRateThreshold": None,
        "minimumCalls": None,
        "slowCallSeconds": None,
        "successThreshold": 1,
        "rampSeconds": 0,
        "rampStartShare": 0.1,
        "mode": "enforce",
        "circuitKeys": False,
        "readShards": 1,
        "consistentReads": True,
        "successSamplesPerSecond": 5,
        "healthCheck": {"scheduleGroup": registry["echo"]["healthCheck"]["scheduleGroup"], "scheduleName": "echo"},  # cdk.json's check
    }
    assert "healthCheck" not in registry["flaky"]
    assert registry["flaky-strict"]["functionArn"] == "ARN(Flaky)"
    assert registry["flaky-strict"]["failureThreshold"] == 1
    assert registry["echo-closed"]["onStoreError"] == "fail"
    assert registry["inspector"]["functionArn"] == INSPECTOR_ARN
    assert sorted(entry["metricId"] for entry in registry.values()) == list(range(1, len(registry) + 1))
    assert registry["flaky-answers"]["ignoredErrors"] == ["CardDeclined", "ValidationError"]
    assert registry["flaky-backed"]["fallback"] == {"functionArn": INSPECTOR_ARN, "onFailure": True}
    assert registry["flaky-static"]["fallback"] == {"answer": STATIC_ANSWER, "onFailure": False}
    assert registry["flaky-once"]["retry"] == {"intervalSeconds": 2, "backoffRate": 1.0, "maxAttempts": 1, "maxDelaySeconds": 8, "jitter": "NONE"}


def _registry(parts: list[Any]) -> dict[str, Any]:
    """Decode the escaped registry, writing each sample function's GetAtt as ARN(Echo) or ARN(Flaky)."""
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            logical = part["Fn::GetAtt"][0]
            text += f"ARN({next(name for name in ('Echo', 'Flaky') if logical.startswith(name))})"
    return json.loads(jsonata_literal_text(json.loads(f'"{text}"')))


def test_the_callee_is_retried_by_the_workflow_not_by_a_retrier(definition: dict[str, Any]) -> None:
    # A native Retry never re-reads the circuit; the workflow's own loop does (Back off -> Get circuit).
    assert "Retry" not in definition["States"]["Call callee"] and "Retry" not in definition["States"]["Call probe"]
    assert definition["States"]["Call callee"]["TimeoutSeconds"] == "{% $settings.timeoutSeconds %}"
    assert definition["States"]["Back off"]["Next"] == "Get circuit"


def test_the_workflow_and_the_record_model_agree_on_a_malformed_break(definition: dict[str, Any]) -> None:
    from circuit_breaker.core.record import WRITE_SLACK_SECONDS

    read = definition["States"]["Get circuit"]["Assign"]["circuit"]
    assert f"$settings.maxBreakSeconds + {WRITE_SLACK_SECONDS}" in read and f"$settings.probeLeaseSeconds + {WRITE_SLACK_SECONDS}" in read
    lease = definition["States"]["Take probe lease"]["Arguments"]["ExpressionAttributeValues"]
    assert f"+ $settings.maxBreakSeconds + {WRITE_SLACK_SECONDS})" in lease[":longestOpen"]["N"]


def test_no_choice_state_assigns_at_state_level(definition: dict[str, Any]) -> None:
    # AWS applies a Choice state's own Assign whichever rule matches: assign inside the rules instead.
    choices = {name: state for name, state in definition["States"].items() if state["Type"] == "Choice"}
    assert choices and all("Assign" not in state for state in choices.values())


def test_the_breaker_errors_the_workflow_recognises_are_the_clients(definition: dict[str, Any]) -> None:
    from circuit_breaker.core.errors import ERROR_CLASSES

    condition = definition["States"]["Is it an answer?"]["Choices"][1]["Condition"]
    named = set(re.findall(r"'([A-Za-z]+Error)'", condition))
    assert named == {cls.__name__ for cls in ERROR_CLASSES.values()}


def test_no_lambda_runs_in_the_control_path(definition: dict[str, Any]) -> None:
    tasks = {name: s["Resource"] for name, s in definition["States"].items() if s["Type"] == "Task"}
    lambda_tasks = {name for name, resource in tasks.items() if resource == "arn:aws:states:::lambda:invoke"}
    assert lambda_tasks == {"Call callee", "Call callee, timed", "Call probe", "Call fallback"}
    event_tasks = {name for name, resource in tasks.items() if resource == "arn:aws:states:::events:putEvents"}
    assert event_tasks == {"Announce opened", "Announce probing", "Announce closed", "Announce reopened"}
    queue_tasks = {name for name, resource in tasks.items() if resource == "arn:aws:states:::sqs:sendMessage"}
    assert queue_tasks == {"Send to dead-letter queue"}
    assert all(r.startswith("arn:aws:states:::dynamodb:") for n, r in tasks.items() if n not in lambda_tasks | event_tasks | queue_tasks)
    assert definition["States"]["Get circuit"]["Arguments"]["ConsistentRead"] == "{% $settings.consistentReads or $attempts > 0 or $rereadPrimary %}"
    shard_writes = definition["States"]["Update read shards"]["ItemProcessor"]["States"]
    assert {s["Resource"] for s in shard_writes.values() if s["Type"] == "Task"} == {"arn:aws:states:::dynamodb:putItem"}


def test_the_table_is_keyed_by_service_with_ttl_pitr_and_encryption(template: dict[str, Any]) -> None:
    table = only(template, "AWS::DynamoDB::Table")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "ServiceName", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "ServiceName", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ExpiryTimeStamp", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_the_workflow_may_invoke_only_the_registered_functions(template: dict[str, Any]) -> None:
    role = logical_id(template, "AWS::IAM::Role", "CircuitBreakerRole")
    policies = [p["Properties"] for p in resources(template, "AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role}]]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    invoke = [s for s in statements if "lambda:InvokeFunction" in json.dumps(s["Action"])]
    assert len(invoke) == 1  # the callees and their fallback functions (the inspector is both), nothing else
    echo = logical_id(template, "AWS::Lambda::Function", "Echo")
    flaky = logical_id(template, "AWS::Lambda::Function", "Flaky")
    assert sorted(json.dumps(r) for r in invoke[0]["Resource"]) == sorted(
        json.dumps(r) for r in [{"Fn::GetAtt": [echo, "Arn"]}, {"Fn::GetAtt": [flaky, "Arn"]}, INSPECTOR_ARN, RECORDER_ARN, RELAY_ARN]
    )
    table = logical_id(template, "AWS::DynamoDB::Table", "CircuitBreakerCircuitStatus")
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    assert len(dynamodb) == 1
    assert sorted(dynamodb[0]["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]  # PutItem: the read shards
    assert dynamodb[0]["Resource"] == {"Fn::GetAtt": [table, "Arn"]}
    [put_events] = [s for s in statements if s["Action"] == "events:PutEvents"]
    assert put_events["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":event-bus/default"]]}
    queue = logical_id(template, "AWS::SQS::Queue", "CircuitBreakerDeadLetterQueue")
    [send] = [s for s in statements if "sqs:SendMessage" in json.dumps(s["Action"])]
    assert send["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    wildcards = {a for s in statements if s["Resource"] == "*" for a in s["Action"]}
    assert all(a.startswith(("logs:", "xray:")) for a in wildcards)


def test_the_dead_letter_queue_is_encrypted_kept_14_days_and_watched(template: dict[str, Any]) -> None:
    queue = only(template, "AWS::SQS::Queue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 14 * 86_400
    logical = logical_id(template, "AWS::SQS::Queue", "CircuitBreakerDeadLetterQueue")
    [policy] = [p["Properties"] for p in resources(template, "AWS::SQS::QueuePolicy").values()]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    [depth] = [a for a in alarms if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert depth["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}] and depth["Threshold"] == 1
    assert "DeadLetterQueueUrl" in template["Outputs"]


def test_the_sample_callees_are_traced_with_retained_logs(template: dict[str, Any]) -> None:
    for prefix in ("Echo", "Flaky"):
        function = template["Resources"][logical_id(template, "AWS::Lambda::Function", prefix)]["Properties"]
        assert function["Runtime"] == "python3.14"
        assert function["TracingConfig"] == {"Mode": "Active"}
        log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == 30
        assert function["Layers"] == [{"Ref": next(p for p in template["Parameters"] if "powertools" in p.lower())}]


def test_the_stack_outputs_what_the_cli_reads(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) == {
        "StateMachineArn", "CircuitTableName", "ExecutionLogGroupName", "RegisteredCallees", "EventBusName", "EventSource",
        "DeadLetterQueueUrl", "ExtensionLayerArn",
    }
    assert template["Outputs"]["RegisteredCallees"]["Value"] == ",".join(sorted(["echo", "flaky", *TEST_CALLEES]))
