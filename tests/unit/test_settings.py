"""Configuration: callee settings, retry policy and the cdk.json context block, with their errors."""

from __future__ import annotations

import json

import pytest

from circuit_breaker.cdk import Callee, registry_entry, retry_entry
from circuit_breaker.core.settings import CalleeSettings, InvalidSettingsError, LogLevel, OnStoreError, RetryPolicy, validate_callee_name
from stacks.context import parse_breaker_context

SAMPLES = ("echo", "flaky")


def test_defaults_are_those_of_the_design() -> None:
    settings = CalleeSettings()
    assert (settings.failure_threshold, settings.failure_window_seconds, settings.break_seconds) == (5, 60, 30)
    assert (settings.max_break_seconds, settings.timeout_seconds, settings.on_store_error) == (300, 10, None)
    assert (settings.ignored_errors, settings.retry, settings.deadline_seconds) == ((), None, 50)
    retry = RetryPolicy()
    assert retry.delays() == [1, 2, 4]
    assert RetryPolicy(max_attempts=5).delays() == [1, 2, 4, 8, 8]  # capped at max_delay_seconds
    assert RetryPolicy(interval_seconds=1, backoff_rate=1.5, max_attempts=3).delays() == [1, 2, 3]  # whole seconds


def test_the_default_policy_fits_every_attempt_before_the_default_deadline() -> None:
    settings, retry = CalleeSettings(), RetryPolicy()
    worst = (retry.max_attempts + 1) * settings.timeout_seconds + sum(retry.delays())
    assert worst <= settings.deadline_seconds < 60  # under a caller's 60-second SDK read timeout


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be between 1 and 1000"),
        ({"failure_threshold": "3"}, "failure_threshold must be a whole number"),
        ({"break_seconds": 60, "max_break_seconds": 30}, "must not be less than break_seconds"),
        ({"timeout_seconds": 301}, "timeout_seconds must be between 1 and 300"),
        ({"on_store_error": "ignore"}, "on_store_error must be 'call'"),
        ({"window": 5}, "unknown setting(s) window"),
        ({"ignored_errors": "CardDeclined"}, "ignored_errors must be a list of error names"),
        ({"ignored_errors": ["Card'Declined"]}, "is not an error name"),
        ({"ignored_errors": ["States.Timeout"]}, "cannot be ignored: timeouts"),
        ({"ignored_errors": ["Lambda.ServiceException"]}, "cannot be ignored"),
        ({"ignored_errors": ["A", "A"]}, "lists a name twice"),
        ({"retry": {"max_attempts": 100}}, "max_attempts must be between 0 and 99"),
        ({"retry": {"tries": 2}}, "unknown retry setting(s) tries"),
        ({"retry": 3}, "retry must be a retry policy"),
        ({"deadline_seconds": 286}, "deadline_seconds must be between 1 and 285"),
        ({"deadline_seconds": 5, "timeout_seconds": 10}, "deadline_seconds (5) must be at least timeout_seconds (10)"),
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
        ({"callees": {"p": {"function_arn": 'arn:aws:lambda:eu-west-1:123456789012:function:pay"ment'}}}, "must be a Lambda function ARN"),
        ({"callees": {"p": {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:pay:ment:x"}}}, "must be a Lambda function ARN"),
        ({"log_execution_data": "no"}, "log_execution_data must be true"),
        ({"log_level": "all"}, "circuit_breaker.log_level must be one of ALL (every event"),
        ({"log_level": "DEBUG"}, "or OFF (no execution logs), got 'DEBUG'"),
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


def test_the_log_level_is_read_from_the_context_and_defaults_to_all() -> None:
    assert parse_breaker_context({}, SAMPLES).log_level is LogLevel.ALL
    assert parse_breaker_context({"log_level": "ERROR"}, SAMPLES).log_level is LogLevel.ERROR


def test_a_callee_policy_overrides_the_breaker_wide_one_in_the_registry() -> None:
    own = RetryPolicy(interval_seconds=2, backoff_rate=1.5, max_attempts=5, max_delay_seconds=20, jitter_strategy="NONE")
    breaker_wide = RetryPolicy(max_attempts=1)
    function = type("Fn", (), {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:p"})()
    entry = registry_entry(Callee(function, CalleeSettings(retry=own, ignored_errors=["CardDeclined"])), OnStoreError.CALL, 1, breaker_wide)
    assert entry["retry"] == {"intervalSeconds": 2, "backoffRate": 1.5, "maxAttempts": 5, "maxDelaySeconds": 20, "jitter": "NONE"}
    assert entry["ignoredErrors"] == ["CardDeclined"] and entry["deadlineSeconds"] == 50
    inherited = registry_entry(Callee(function, CalleeSettings()), OnStoreError.CALL, 1, breaker_wide)
    assert inherited["retry"] == retry_entry(breaker_wide)


def test_context_takes_a_callee_policy_and_ignored_errors() -> None:
    config = parse_breaker_context(
        {"callees": {"payment": {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:payment:live",
                                 "ignored_errors": ["CardDeclined"], "retry": {"max_attempts": 1}}}},
        SAMPLES,
    )
    payment = next(c for c in config.callees if c.name == "payment")
    assert payment.settings.ignored_errors == ("CardDeclined",) and payment.settings.retry == RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"minimum_calls": 10}, "minimum_calls applies to the rate rule only"),
        ({"failure_rate_threshold": 0}, "failure_rate_threshold must be more than 0 and at most 1"),
        ({"failure_rate_threshold": 1.01}, "failure_rate_threshold must be more than 0 and at most 1"),
        ({"failure_rate_threshold": True}, "failure_rate_threshold must be a number"),
        ({"failure_rate_threshold": 0.5, "minimum_calls": 0}, "minimum_calls must be between 1 and 1000000"),
        ({"slow_call_seconds": 10}, "must be less than timeout_seconds (10)"),
        ({"slow_call_seconds": -1}, "slow_call_seconds must be more than 0"),
        ({"success_threshold": 0}, "success_threshold must be between 1 and 100"),
        ({"ramp_seconds": -5}, "ramp_seconds must be between 0 and 86400"),
        ({"mode": "audit"}, "mode must be 'enforce' or 'observe'"),
        ({"circuit_keys": "yes"}, "circuit_keys must be true or false"),
        ({"read_shards": 0}, "read_shards must be between 1 and 32"),
        ({"read_shards": 33}, "read_shards must be between 1 and 32"),
        ({"consistent_reads": None}, "consistent_reads must be true or false"),
    ],
)
def test_the_trip_rules_and_scale_settings_are_checked_when_built(values: dict, says: str) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        CalleeSettings.from_mapping(values, "circuit_breaker.callees.x")
    assert says in str(raised.value) and "circuit_breaker.callees.x" in str(raised.value)


def test_the_rate_rule_takes_a_minimum_number_of_calls_by_default() -> None:
    settings = CalleeSettings(failure_rate_threshold=0.5, slow_call_seconds=2.5, mode="observe")
    assert settings.uses_rate and settings.minimum_calls == 10 and settings.mode.value == "observe"
    assert not CalleeSettings().uses_rate and CalleeSettings().minimum_calls is None


def test_a_trailing_newline_or_a_non_ascii_digit_passes_no_validation() -> None:
    """Python's ``$`` also matches before a final newline and ``\\d`` any digit: every pattern is matched whole, in ASCII."""
    from circuit_breaker.aws.deployment import DeploymentNotFoundError, check_state_machine_arn
    from circuit_breaker.core.settings import HealthCheck, validate_function_arn
    from circuit_breaker.operate.executions import ExecutionQueryError, check_execution_arn

    function = "arn:aws:lambda:eu-west-1:123456789012:function:payment"
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:CircuitBreaker"
    execution = "arn:aws:states:us-east-1:123456789012:express:CircuitBreaker:run-1:7f1c"
    checks = [
        ("payment", validate_callee_name, InvalidSettingsError),
        (function, lambda value: validate_function_arn(value, "function_arn"), InvalidSettingsError),
        ("CardDeclined", lambda value: CalleeSettings(ignored_errors=(value,)), InvalidSettingsError),
        ("https://payments.example.com/health", lambda value: HealthCheck(url=value), InvalidSettingsError),
        (machine, check_state_machine_arn, DeploymentNotFoundError),
        (execution, check_execution_arn, ExecutionQueryError),
    ]
    for valid, check, error in checks:
        check(valid)
        for wrong in (valid + "\n", valid + "\r\n"):
            with pytest.raises(error):
                check(wrong)
    for wrong in (function.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢"), machine.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢")):
        with pytest.raises((InvalidSettingsError, DeploymentNotFoundError)):
            (validate_function_arn(wrong, "function_arn") if "lambda" in wrong else check_state_machine_arn(wrong))


def test_the_block_is_read_as_the_cli_hands_it_null_members_included(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """CDK's lookup drops null members; the block comes from CDK_CONTEXT_JSON and the overflow file, as App reads them."""
    from types import SimpleNamespace

    from stacks.context import CONTEXT_JSON_ENV, CONTEXT_OVERFLOW_ENV, configured_block

    scope = SimpleNamespace(node=SimpleNamespace(try_get_context=lambda key: {"from": "lookup"}))
    monkeypatch.delenv(CONTEXT_OVERFLOW_ENV, raising=False)
    monkeypatch.delenv(CONTEXT_JSON_ENV, raising=False)
    assert configured_block(scope) == {"from": "lookup"}  # an App given context= in code: nothing handed over
    handed = {"callees": {"flaky": {"fallback": {"answer": {"eta": None, "items": [None]}}}}}
    monkeypatch.setenv(CONTEXT_JSON_ENV, json.dumps({"circuit_breaker": handed, "other": 1}))
    assert configured_block(scope) == handed
    overflow = tmp_path / "context.json"
    overflow.write_text(json.dumps({"circuit_breaker": {"callees": {"flaky": {"fallback": {"answer": None}}}}}))
    monkeypatch.setenv(CONTEXT_OVERFLOW_ENV, str(overflow))
    config = parse_breaker_context(configured_block(scope), SAMPLES)
    assert next(c for c in config.callees if c.name == "flaky").fallback.answer is None
