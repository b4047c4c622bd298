"""Any breaker is discoverable: from its state machine's ARN, by stack (outputs or tag), or alone in the region.

Everything runs on the engine, against the state machine the synthesized template created (the real
definition with its substitutions), not a hand-written definition.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.aws.deployment import (
    DISCOVERY_TAG,
    AmbiguousDeploymentError,
    Deployment,
    DeploymentNotFoundError,
)
from circuit_breaker.aws.definition import read_definition
from tests.conftest import TEST_CALLEES, Breaker, run_cli

SHOP_PATH = "Shop/Payments/Breaker"


def test_the_cli_looks_for_the_tag_the_construct_puts(template: dict[str, Any]) -> None:
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert {"Key": DISCOVERY_TAG, "Value": "CircuitBreaker/CircuitBreaker"} in machine["Properties"]["Tags"]


def test_everything_comes_from_the_state_machine_arn(breaker: Breaker, template: dict[str, Any]) -> None:
    outputs = breaker.engine.deployment()  # what the sample stack publishes as outputs
    found = Deployment.from_state_machine(breaker.engine.connection(), outputs.state_machine_arn)
    assert found.table_name == outputs.table_name
    assert found.log_group_name == outputs.log_group_name
    assert (found.event_bus_name, found.event_source) == (outputs.event_bus_name, outputs.event_source)
    assert set(found.callees) == set(outputs.callees) >= set(TEST_CALLEES)
    assert found.construct_path == "CircuitBreaker/CircuitBreaker" and found.stack_name is None
    strict = found.registry["flaky-strict"]
    assert (strict.failure_threshold, strict.break_seconds, strict.max_break_seconds) == (1, 2, 8)
    assert strict.function_arn.startswith("arn:aws:lambda:") and ":function:" in strict.function_arn
    assert found.limits("flaky-strict").max_break_seconds == 8
    assert found.registry["flaky-slow"].timeout_seconds == 1
    assert found.registry["inspector"].function_arn.endswith(":function:breaker-test-inspector")


def test_the_definition_is_read_by_what_it_does_not_by_state_names(breaker: Breaker) -> None:
    """Renamed and reordered states (as a restructured workflow would have) read the same."""
    arn = breaker.engine.deployment().state_machine_arn
    definition = json.loads(breaker.sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    renamed = {"StartAt": "A", "States": {f"S{i}": state for i, state in enumerate(reversed(list(definition["States"].values())))}}
    original, shuffled = read_definition(definition), read_definition(renamed)
    assert shuffled == original and original.registry


def test_discover_by_stack_reads_its_outputs(breaker: Breaker) -> None:
    found = Deployment.discover(breaker.engine.connection(), stack_name="CircuitBreaker")
    assert found.stack_name == "CircuitBreaker" and found.registry["echo"].name == "echo"


@pytest.fixture
def shop_stack(breaker: Breaker) -> Iterator[str]:
    """A second breaker, in a stack that publishes no outputs (as a user's own stack would be)."""
    arn = breaker.engine.deployment().state_machine_arn
    described = breaker.sfn.describe_state_machine(stateMachineArn=arn)
    template = {
        "Resources": {
            "PaymentsBreakerStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": described["definition"],
                    "RoleArn": described["roleArn"],
                    "StateMachineType": "EXPRESS",
                    "LoggingConfiguration": {
                        "Level": "ALL",
                        "IncludeExecutionData": True,
                        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/shop/breaker:*"}}],
                    },
                    "Tags": [{"Key": DISCOVERY_TAG, "Value": SHOP_PATH}, {"Key": "team", "Value": "shop"}],
                },
            },
            "Unrelated": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}), "RoleArn": described["roleArn"]}},
        }
    }
    cloudformation = breaker.engine.session().client("cloudformation")
    cloudformation.create_stack(StackName="Shop", TemplateBody=json.dumps(template))
    machines = [r["PhysicalResourceId"] for r in cloudformation.list_stack_resources(StackName="Shop")["StackResourceSummaries"]]
    try:
        yield next(m for m in machines if "PaymentsBreaker" in m)
    finally:
        for machine in machines:
            breaker.sfn.delete_state_machine(stateMachineArn=machine)
        cloudformation.delete_stack(StackName="Shop")


def test_a_breaker_in_a_stack_without_outputs_is_found_by_its_tag(breaker: Breaker, shop_stack: str) -> None:
    found = Deployment.discover(breaker.engine.connection(), stack_name="Shop")
    assert found.state_machine_arn == shop_stack and found.construct_path == SHOP_PATH
    assert found.table_name == breaker.table and found.log_group_name == "/shop/breaker"
    client = CircuitBreakerClient.discover(breaker.engine.connection(), stack_name="Shop")
    assert client.call("echo", {"via": "shop"}).output == {"via": "shop"}


def test_several_breakers_in_the_region_must_be_picked(endpoint: str, breaker: Breaker, shop_stack: str) -> None:
    with pytest.raises(AmbiguousDeploymentError) as raised:
        Deployment.discover(breaker.engine.connection())
    assert set(raised.value.candidates) == {shop_stack, breaker.engine.deployment().state_machine_arn}
    code, _, err = run_cli(endpoint, "status")
    assert code == 2 and "2 circuit breakers" in err and shop_stack in err and "--state-machine-arn" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli(endpoint, "--state-machine-arn", shop_stack, "call", "echo", "--json")
    assert code == 0, err
    assert json.loads(out)["output"] == {}
    code, out, err = run_cli(endpoint, "status", "echo", "--json", "--state-machine-arn", shop_stack)
    assert code == 0, err
    assert json.loads(out)[0]["callee"] == "echo"


def test_the_one_breaker_in_the_region_is_found_without_options(breaker: Breaker) -> None:
    found = Deployment.discover(breaker.engine.connection())
    assert found.state_machine_arn == breaker.engine.deployment().state_machine_arn


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"stack_name": "NoSuchStack"}, "no stack NoSuchStack"),
        ({"state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"}, "no state machine"),
        ({"state_machine_arn": "not-an-arn"}, "is not a state machine ARN"),
    ],
)
def test_what_is_not_there_is_explained(breaker: Breaker, kwargs: dict[str, str], says: str) -> None:
    with pytest.raises(DeploymentNotFoundError, match=says):
        Deployment.discover(breaker.engine.connection(), **kwargs)


def test_a_state_machine_that_is_not_a_breaker_is_refused(breaker: Breaker) -> None:
    role = breaker.sfn.describe_state_machine(stateMachineArn=breaker.engine.deployment().state_machine_arn)["roleArn"]
    arn = breaker.sfn.create_state_machine(
        name="not-a-breaker", roleArn=role, definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )["stateMachineArn"]
    try:
        with pytest.raises(DeploymentNotFoundError, match="is not a circuit breaker's state machine"):
            Deployment.from_state_machine(breaker.engine.connection(), arn)
    finally:
        breaker.sfn.delete_state_machine(stateMachineArn=arn)
