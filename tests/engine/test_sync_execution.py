"""StartSyncExecution on the local engine, in process and over HTTP, answered as AWS answers it.

The expected shapes are AWS's recorded answers (LocalStack's snapshots
``tests/aws/services/stepfunctions/v2/express/test_express_sync.snapshot.json`` and
``v2/test_sfn_api.snapshot.json::test_start_sync_execution``): every key, the ``express:`` ARN, the
billing details, HTTP 200 for a failed execution and ``StateMachineTypeNotSupported`` for a Standard
machine. Also here: the client's calls go through StartSyncExecution, and any API the engine lacks
answers a 4xx naming it, never a 500 with a traceback.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.aws.connection import local_client_config
from circuit_breaker.aws.deployment import Connection
from circuit_breaker.core.errors import CalleeFailedError
from circuit_breaker.local.engine import LOCAL_ACCOUNT, LocalEngine

ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/sync-probe"
EXPRESS_ARN = re.compile(rf"^arn:aws:states:us-east-1:{LOCAL_ACCOUNT}:express:(?P<machine>[\w-]+):(?P<name>[\w-]+):[0-9a-f-]{{36}}$")

#: The keys of AWS's recorded answers (test_base[BASE_PASS_RESULT] and [BASE_RAISE_FAILURE]).
SUCCEEDED_KEYS = {
    "billingDetails", "executionArn", "input", "inputDetails", "name", "output", "outputDetails",
    "startDate", "stateMachineArn", "status", "stopDate",
}
FAILED_KEYS = (SUCCEEDED_KEYS - {"output"}) | {"error", "cause"}

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}}}


@pytest.fixture(params=["in-process", "http"])
def sfn(request: pytest.FixtureRequest, engine: LocalEngine) -> Any:
    """A Step Functions client of the engine: in this process, or over HTTP as `breaker local up` serves it."""
    session = engine.session()
    if request.param == "in-process":
        return session.client("stepfunctions")
    endpoint = request.getfixturevalue("endpoint")
    return session.client("stepfunctions", endpoint_url=endpoint, config=local_client_config(endpoint))


def machine(sfn: Any, definition: dict[str, Any], kind: str = "EXPRESS") -> str:
    return sfn.create_state_machine(
        name=f"sync-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE, type=kind
    )["stateMachineArn"]


def test_a_succeeded_execution_answers_what_aws_answers(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    answer = sfn.start_sync_execution(stateMachineArn=arn, name="first-call", input='{"a": 1}')
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(answer) - {"ResponseMetadata"} == SUCCEEDED_KEYS
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"Arg1": "argument1"}
    assert json.loads(answer["input"]) == {"a": 1}
    assert answer["inputDetails"] == answer["outputDetails"] == {"included": True}
    assert answer["billingDetails"] == {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}
    assert answer["stateMachineArn"] == arn and answer["name"] == "first-call"
    match = EXPRESS_ARN.match(answer["executionArn"])
    assert match and match["machine"] == arn.rsplit(":", 1)[-1] and match["name"] == "first-call"
    assert answer["startDate"] <= answer["stopDate"]


def test_a_failed_execution_is_an_http_200_with_its_error_and_cause(sfn: Any) -> None:
    answer = sfn.start_sync_execution(stateMachineArn=machine(sfn, FAIL))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(answer) - {"ResponseMetadata"} == FAILED_KEYS
    assert (answer["status"], answer["error"]) == ("FAILED", "SomeFailure")
    assert answer["cause"] == "This state machines raises a 'SomeFailure' failure."
    assert EXPRESS_ARN.match(answer["executionArn"])  # named with a UUID when no name is given


def test_a_standard_machine_is_refused_as_on_aws(sfn: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sfn.start_sync_execution(stateMachineArn=machine(sfn, PASS, kind="STANDARD"))
    error = raised.value.response
    assert error["Error"] == {"Code": "StateMachineTypeNotSupported", "Message": "This operation is not supported by this type of state machine"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_input_and_unknown_machines_are_client_errors(sfn: Any) -> None:
    with pytest.raises(ClientError, match="InvalidExecutionInput"):
        sfn.start_sync_execution(stateMachineArn=machine(sfn, PASS), input="{not json")
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        sfn.start_sync_execution(stateMachineArn=f"arn:aws:states:us-east-1:{LOCAL_ACCOUNT}:stateMachine:nosuch")


def test_the_trace_header_is_returned_when_one_is_passed(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    answer = sfn.start_sync_execution(stateMachineArn=machine(sfn, PASS), traceHeader=header)
    assert answer["traceHeader"] == header


def test_a_machine_that_runs_out_of_time_ends_timed_out(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    definition = {"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    arn = machine(sfn, definition)
    scale, engine.clock.scale = engine.clock.scale, 1.0  # this wait must really last longer than the timeout
    try:
        answer = sfn.start_sync_execution(stateMachineArn=arn)
    finally:
        engine.clock.scale = scale
    assert answer["status"] == "TIMED_OUT"
    assert "output" not in answer
    assert 1000 <= answer["billingDetails"]["billedDurationInMilliseconds"] < 30000


def test_waits_the_engine_skips_still_count_in_the_billed_duration(engine: LocalEngine) -> None:
    sfn = engine.session().client("stepfunctions")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}}
    answer = sfn.start_sync_execution(stateMachineArn=machine(sfn, definition))  # the test engine waits 0 s
    assert answer["status"] == "SUCCEEDED"
    assert 3000 <= answer["billingDetails"]["billedDurationInMilliseconds"] <= 3500


def test_a_sync_execution_is_kept_with_its_history(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    answer = sfn.start_sync_execution(stateMachineArn=arn)
    described = sfn.describe_execution(executionArn=answer["executionArn"])
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"Arg1": "argument1"})
    events = [e["type"] for e in sfn.get_execution_history(executionArn=answer["executionArn"])["events"]]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionSucceeded"
    listed = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert answer["executionArn"] in listed


def test_the_client_calls_the_breaker_with_start_sync_execution(engine: LocalEngine, breaker: Any, endpoint: str) -> None:
    connections = {
        "in-process": engine.connection(),
        "http": Connection(engine.session(), endpoint_url=endpoint, local=True),
    }
    for transport, connection in connections.items():
        client = CircuitBreakerClient(connection, engine.deployment())
        result = client.call("echo", {"order": 42})
        assert result.output == {"order": 42}, transport
        assert EXPRESS_ARN.match(result.execution_arn), f"{transport}: {result.execution_arn} is not a sync execution"
        with pytest.raises(CalleeFailedError) as failed:
            client.call("flaky-strict", {"fail": True})
        assert EXPRESS_ARN.match(failed.value.execution_arn or ""), transport
        breaker.clear()  # that failure opened flaky-strict's circuit


def test_the_client_needs_only_the_state_machine_arn(engine: LocalEngine, breaker: Any) -> None:
    client = CircuitBreakerClient.for_state_machine(engine.deployment().state_machine_arn, engine.connection())
    assert client.call("echo", [1, 2]).output == [1, 2]


def test_without_the_host_prefix_switch_a_local_endpoint_is_unreachable(engine: LocalEngine, endpoint: str) -> None:
    """Why local_client_config exists: botocore sends StartSyncExecution to sync-127.0.0.1."""
    plain = engine.session().client("stepfunctions", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))
    with pytest.raises(EndpointConnectionError, match="sync-127.0.0.1"):
        plain.start_sync_execution(stateMachineArn=engine.deployment().state_machine_arn, input="{}")


def _raw_post(endpoint: str, target: str, service: str = "states", content_type: str = "application/x-amz-json-1.0") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        endpoint + "/",
        data=b"{}",
        headers={
            "Content-Type": content_type,
            "X-Amz-Target": target,
            "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.parametrize(
    "target, service, named",
    [
        ("AWSStepFunctions.TestState", "states", "stepfunctions TestState"),  # a Step Functions API moto lacks
        ("AWSPriceListService.DescribeServices", "pricing", "pricing DescribeServices"),  # a service moto lacks
    ],
)
def test_an_api_the_engine_lacks_is_a_4xx_naming_it_over_http(endpoint: str, target: str, service: str, named: str) -> None:
    status, headers, body = _raw_post(endpoint, target, service)
    assert 400 <= status < 500, body
    assert "Traceback" not in body and "<html" not in body.lower()
    assert json.loads(body)["__type"].endswith("UnknownOperationException")
    assert named in body


def test_unknown_operations_of_every_protocol_are_client_errors(engine: LocalEngine, endpoint: str) -> None:
    session = engine.session()
    calls = {
        "query (cloudformation)": lambda: session.client("cloudformation", endpoint_url=endpoint).describe_generated_template(GeneratedTemplateName="x"),
        "rest-json (lambda)": lambda: session.client("lambda", endpoint_url=endpoint).get_function_recursion_config(FunctionName="x"),
        "in process (cloudformation)": lambda: session.client("cloudformation").describe_generated_template(GeneratedTemplateName="x"),
    }
    for protocol, call in calls.items():
        with pytest.raises(ClientError) as raised:
            call()
        response = raised.value.response
        assert 400 <= response["ResponseMetadata"]["HTTPStatusCode"] < 500, protocol
        assert response["Error"]["Code"] == "UnknownOperationException", protocol
        assert "does not implement" in response["Error"]["Message"], protocol
