"""Configuration: callee settings, retry policy and the cdk.json context block, with their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from circuit_breaker.cdk import render_definition
from stacks.context import parse_breaker_context
from circuit_breaker.settings import CalleeSettings, InvalidSettingsError, OnStoreError, RetryPolicy, validate_callee_name

SAMPLES = ("echo", "flaky")


def test_defaults_are_those_of_the_design() -> None:
    settings = CalleeSettings()
    assert (settings.failure_threshold, settings.failure_window_seconds, settings.break_seconds) == (3, 60, 30)
    assert (settings.max_break_seconds, settings.timeout_seconds, settings.on_store_error) == (300, 10, None)
    retry = RetryPolicy()
    assert retry.delays() == [1, 2, 4]
    assert RetryPolicy(max_attempts=5).delays() == [1, 2, 4, 8, 8]  # capped at max_delay_seconds


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be between 1 and 1000"),
        ({"failure_threshold": "3"}, "failure_threshold must be a whole number"),
        ({"break_seconds": 60, "max_break_seconds": 30}, "must not be less than break_seconds"),
        ({"timeout_seconds": 301}, "timeout_seconds must be between 1 and 300"),
        ({"on_store_error": "ignore"}, "on_store_error must be 'call'"),
        ({"window": 5}, "unknown setting(s) window"),
    ],
)
def test_bad_callee_settings_say_what_is_wrong(values: dict, says: str) -> None:
    with pytest.raises(InvalidSettingsError, match="callees.x") as raised:
        CalleeSettings.from_mapping(values, "circuit_breaker.callees.x")
    assert says in str(raised.value)


@pytest.mark.parametrize("name", ["", "-leading-dash", "has space", "quote'", 'dq"', "x" * 65, 7])
def test_callee_names_that_could_break_an_expression_are_refused(name: object) -> None:
    with pytest.raises(InvalidSettingsError, match="not valid"):
        validate_callee_name(name)


def test_context_registers_samples_and_existing_functions() -> None:
    config = parse_breaker_context(
        {
            "callee_defaults": {"failure_threshold": 5},
            "on_store_error": "fail",
            "callees": {
                "flaky": {"break_seconds": 10},
                "payment": {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:payment", "timeout_seconds": 3},
                "strict": {"sample_function": "flaky", "failure_threshold": 1},
            },
        },
        SAMPLES,
    )
    by_name = {c.name: c for c in config.callees}
    assert sorted(by_name) == ["echo", "flaky", "payment", "strict"]
    assert by_name["echo"].settings.failure_threshold == 5 and by_name["echo"].sample_function == "echo"
    assert by_name["flaky"].settings.break_seconds == 10
    assert by_name["payment"].function_arn.endswith(":function:payment") and by_name["payment"].settings.timeout_seconds == 3
    assert by_name["strict"].sample_function == "flaky" and by_name["strict"].settings.failure_threshold == 1
    assert config.on_store_error is OnStoreError.FAIL


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ({"retries": {}}, "unknown key(s) retries"),
        ({"callees": {"payment": {}}}, "'payment' is not a sample function"),
        ({"callees": {"payment": {"function_arn": "payment"}}}, "must be a Lambda function ARN"),
        ({"callees": {"x": {"function_arn": "arn:aws:lambda:r:1:function:x", "sample_function": "echo"}}}, "not both"),
        ({"callees": {"bad name": {}}}, "not valid"),
        ({"retry": {"max_attempts": -1}}, "max_attempts must be between 0 and 99"),
        ({"retry": {"jitter_strategy": "HALF"}}, "jitter_strategy must be 'FULL' or 'NONE'"),
        ({"max_depth": 0}, "max_depth must be a whole number from 1 to 1000"),
        ({"log_retention_days": 31}, "log_retention_days must be one of"),
        ({"callees": []}, "callees must be an object"),
    ],
)
def test_bad_context_fails_synth_with_the_key_named(block: dict, says: str) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        parse_breaker_context(block, SAMPLES)
    assert says in str(raised.value)


def test_render_definition_writes_the_retry_policy_into_the_callee_retrier() -> None:
    policy = RetryPolicy(interval_seconds=2, backoff_rate=1.5, max_attempts=5, max_delay_seconds=20, jitter_strategy="NONE")
    rendered = json.loads(render_definition(policy).read_text())
    [retrier] = rendered["States"]["Call callee"]["Retry"]
    assert retrier == {
        **retrier,
        "IntervalSeconds": 2,
        "BackoffRate": 1.5,
        "MaxAttempts": 5,
        "MaxDelaySeconds": 20,
        "JitterStrategy": "NONE",
    }
    source = json.loads((Path(__file__).resolve().parent.parent / "statemachine" / "circuit_breaker.asl.json").read_text())
    rendered["States"]["Call callee"]["Retry"] = source["States"]["Call callee"]["Retry"]
    assert rendered == source  # nothing else changes
