"""The CircuitBreaker construct refuses props that cannot work, at synth time."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from circuit_breaker.cdk import Callee, CircuitBreaker, CircuitBreakerProps
from circuit_breaker.settings import CalleeSettings, InvalidSettingsError, RetryPolicy


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
    with pytest.raises(InvalidSettingsError, match="longer than an Express execution may run"):
        build(
            lambda fn: CircuitBreakerProps(
                callees={"slow": Callee(fn, CalleeSettings(timeout_seconds=120))}, retry=RetryPolicy(max_attempts=3)
            )
        )
