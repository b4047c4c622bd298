"""The CircuitBreaker construct refuses props that cannot work, at synth time."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from constructs import Construct

from circuit_breaker.cdk import Callee, CircuitBreaker, CircuitBreakerProps, Fallback
from circuit_breaker.core.settings import CalleeSettings, InvalidSettingsError


def build(props_for) -> CircuitBreaker:
    stack = cdk.Stack(cdk.App(), "Test")
    function = lambda_.Function.from_function_arn(stack, "Fn", "arn:aws:lambda:eu-west-1:123456789012:function:payment")
    return CircuitBreaker(stack, "Breaker", props_for(function))


def test_every_resource_is_reachable_from_the_construct() -> None:
    breaker = build(lambda fn: CircuitBreakerProps(callees={"payment": Callee(fn)}))
    assert breaker.table and breaker.state_machine and breaker.role and breaker.log_group


def test_no_callee_is_refused() -> None:
    with pytest.raises(InvalidSettingsError, match="register at least one callee"):
        build(lambda fn: CircuitBreakerProps(callees={}))


def test_a_callee_name_that_could_break_the_registry_is_refused() -> None:
    with pytest.raises(InvalidSettingsError, match="not valid"):
        build(lambda fn: CircuitBreakerProps(callees={"pay'ment": Callee(fn)}))


def test_settings_that_cannot_finish_within_an_express_execution_are_refused() -> None:
    # The deadline bounds the retries; one attempt past it could not fit in the five minutes.
    with pytest.raises(InvalidSettingsError, match="deadline_seconds must be between 1 and 285"):
        build(lambda fn: CircuitBreakerProps(callees={"slow": Callee(fn, CalleeSettings(timeout_seconds=120, deadline_seconds=400))}))


@pytest.mark.parametrize(
    "arn",
    [
        'arn:aws:lambda:eu-west-1:123456789012:function:pay"ment',
        "arn:aws:lambda:eu-west-1:123456789012:function:pay'ment",
        "arn:aws:lambda:eu-west-1:123456789012:layer:payment",
        "arn:aws:lambda:eu-west-1:12345:function:payment",
    ],
)
def test_a_function_arn_that_could_break_the_registry_is_refused(arn: str) -> None:
    def props(_fn):
        stack = cdk.Stack(cdk.App(), "Other")
        return CircuitBreakerProps(callees={"payment": Callee(lambda_.Function.from_function_arn(stack, "Bad", arn))})

    with pytest.raises(InvalidSettingsError, match="must be a Lambda function ARN"):
        build(props)


def test_two_breakers_with_the_same_id_in_different_scopes_get_their_own_log_groups() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Shop")
    for scope_id in ("Orders", "Payments"):
        holder = Construct(stack, scope_id)
        function = lambda_.Function.from_function_arn(holder, "Fn", "arn:aws:lambda:eu-west-1:123456789012:function:payment")
        CircuitBreaker(holder, "Breaker", CircuitBreakerProps(callees={"payment": Callee(function)}))
    template = Template.from_stack(stack)
    names = [group["Properties"]["LogGroupName"] for group in template.find_resources("AWS::Logs::LogGroup").values()]
    assert len(set(names)) == 2 and all(name.startswith("/aws/vendedlogs/states/Shop-") for name in names)
    tagged = template.find_resources("AWS::StepFunctions::StateMachine")
    paths = sorted(tag["Value"] for machine in tagged.values() for tag in machine["Properties"]["Tags"] if tag["Key"] == "circuit-breaker")
    assert paths == ["Shop/Orders/Breaker", "Shop/Payments/Breaker"]


def _breaker_stack(**props: Any) -> tuple[cdk.Stack, Template]:
    stack = cdk.Stack(cdk.App(), "Private")
    function = lambda_.Function.from_function_arn(stack, "Fn", "arn:aws:lambda:eu-west-1:123456789012:function:payment")
    CircuitBreaker(stack, "Breaker", CircuitBreakerProps(callees={"payment": Callee(function)}, **props))
    return stack, Template.from_stack(stack)


def _metric_names(template: Template) -> set[str]:
    return {
        f["Properties"]["MetricTransformations"][0]["MetricName"] for f in template.find_resources("AWS::Logs::MetricFilter").values()
    }


def _warnings(stack: cdk.Stack) -> str:
    return " ".join(str(w.entry.data) for w in cdk.assertions.Annotations.from_stack(stack).find_warning("*", cdk.assertions.Match.any_value()))


def test_execution_data_can_be_kept_out_of_the_logs_and_the_metrics_say_they_are_off() -> None:
    stack, template = _breaker_stack(log_execution_data=False)
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
    # the markers are not logged: no per-callee metric; the failure records still feed the breaker-wide ones
    assert _metric_names(template) == {"StoreErrors", "FailedFast", "CalleeFailedCalls"}
    assert "log_execution_data=False" in _warnings(stack)


@pytest.mark.parametrize(
    ("level", "metrics", "alarms"),
    [
        ("ALL", {"Calls", "CalleeFailures", "ShortCircuits", "Opens", "Fallbacks", "FailOpens", "StoreErrors"}, 4),
        ("ERROR", {"StoreErrors", "FailedFast", "CalleeFailedCalls"}, 2),
        ("FATAL", {"FailedFast", "CalleeFailedCalls"}, 1),
        ("OFF", set(), 0),
    ],
)
def test_the_log_level_is_the_state_machines_and_only_metrics_it_can_feed_are_made(level: str, metrics: set[str], alarms: int) -> None:
    stack, template = _breaker_stack(log_level=level)
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == level
    assert _metric_names(template) == metrics
    breaker_alarms = [a for a in template.find_resources("AWS::CloudWatch::Alarm").values() if a["Properties"].get("Namespace", "").startswith("CircuitBreaker")]
    assert len(breaker_alarms) == alarms
    warned = _warnings(stack)
    assert (f"log_level={level}" in warned) == (level != "ALL")


def test_a_log_level_that_does_not_exist_fails_synth_naming_the_levels() -> None:
    with pytest.raises(InvalidSettingsError, match=r"log_level must be one of ALL .* got 'DEBUG'"):
        _breaker_stack(log_level="DEBUG")


def test_a_fallback_function_is_granted_like_the_callees_and_a_static_answer_is_checked() -> None:
    stack = cdk.Stack(cdk.App(), "Fallbacks")
    payment = lambda_.Function.from_function_arn(stack, "Payment", "arn:aws:lambda:eu-west-1:123456789012:function:payment")
    backup = lambda_.Function.from_function_arn(stack, "Backup", "arn:aws:lambda:eu-west-1:123456789012:function:backup")
    CircuitBreaker(stack, "Breaker", CircuitBreakerProps(callees={"payment": Callee(payment, fallback=Fallback(function=backup))}))
    statements = [
        s for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    [invoke] = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert sorted(invoke["Resource"]) == [backup.function_arn, payment.function_arn]
    with pytest.raises(InvalidSettingsError, match="either a function or a static answer"):
        Fallback()
    with pytest.raises(InvalidSettingsError, match="either a function or a static answer"):
        Fallback(function=backup, answer={"x": 1})
    with pytest.raises(InvalidSettingsError, match="must be JSON"):
        Fallback(answer={"when": object()})
    with pytest.raises(InvalidSettingsError, match="at most 32768 bytes"):
        Fallback(answer="x" * 40_000)
    assert Fallback(answer=None).entry() == {"answer": None, "onFailure": False}  # null is an answer


def test_callers_and_redrive_get_exactly_the_permissions_they_need() -> None:
    stack = cdk.Stack(cdk.App(), "Grants")
    function = lambda_.Function.from_function_arn(stack, "Fn", "arn:aws:lambda:eu-west-1:123456789012:function:payment")
    breaker = CircuitBreaker(stack, "Breaker", CircuitBreakerProps(callees={"payment": Callee(function)}))
    caller = cdk.aws_iam.Role(stack, "Caller", assumed_by=cdk.aws_iam.ServicePrincipal("lambda.amazonaws.com"))
    operator = cdk.aws_iam.Role(stack, "Operator", assumed_by=cdk.aws_iam.AccountRootPrincipal())
    breaker.grant_call(caller)
    breaker.grant_redrive(operator)
    template = Template.from_stack(stack)

    def actions(role: str) -> set[str]:
        logical = stack.get_logical_id(stack.node.find_child(role).node.default_child)
        policies = [p["Properties"] for p in template.find_resources("AWS::IAM::Policy").values() if {"Ref": logical} in p["Properties"]["Roles"]]
        found = set()
        for statement in (s for p in policies for s in p["PolicyDocument"]["Statement"]):
            found |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
        return found

    assert actions("Caller") == {"states:StartExecution", "states:StartSyncExecution"}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
            "dynamodb:GetItem", "states:StartExecution", "states:StartSyncExecution"} <= actions("Operator")
    assert not {a for a in actions("Operator") if a.startswith("dynamodb:") and a != "dynamodb:GetItem"}
