"""Read the ``circuit_breaker`` block of the CDK context (``cdk.json``, or ``-c`` on the command line).

The block configures the sample deployment: settings of the sample callees, existing Lambda functions
to register by ARN, the retry policy and breaker-wide options. Every key is checked, so a typo fails
``cdk synth`` with the allowed keys named instead of silently deploying the defaults::

    "circuit_breaker": {
      "retry": {"interval_seconds": 1, "backoff_rate": 2.0, "max_attempts": 3, "max_delay_seconds": 8},
      "on_store_error": "call",
      "max_depth": 16,
      "log_retention_days": 30,
      "log_execution_data": true,
      "log_level": "ALL",
      "callee_defaults": {"failure_threshold": 5},
      "callees": {
        "echo": {"health_check": {"payload": {"health": "check"}, "failures_to_open": 3, "successes_to_close": 2}},
        "flaky": {"break_seconds": 10, "fallback": {"answer": {"status": "degraded"}}},
        "payment": {
          "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:payment",
          "ignored_errors": ["CardDeclined"],
          "retry": {"max_attempts": 1},
          "fallback": {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:payment-backup", "on_failure": true},
          "health_check": {"url": "https://payments.example.com/health", "rate_minutes": 1, "timeout_seconds": 3}
        },
        "flaky-strict": {"sample_function": "flaky", "failure_threshold": 1}
      }
    }
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Mapping

from circuit_breaker.core.registry import not_registered
from constructs import Construct

from circuit_breaker.core.settings import (
    CalleeSettings,
    InvalidSettingsError,
    LogLevel,
    OnStoreError,
    RetryPolicy,
    parse_log_level,
    parse_on_store_error,
    validate_callee_name,
    validate_function_arn,
    validate_max_depth,
)

CONTEXT_KEY = "circuit_breaker"
#: Where the CDK CLI hands an app its context (aws-cdk-lib's cx-api names): a JSON document in this variable, and,
#: when that would be too large, a JSON file named by the other; ``App`` reads both, the file's keys winning.
CONTEXT_JSON_ENV = "CDK_CONTEXT_JSON"
CONTEXT_OVERFLOW_ENV = "CONTEXT_OVERFLOW_LOCATION_ENV"

#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

_TOP_LEVEL_KEYS = {
    "retry",
    "on_store_error",
    "max_depth",
    "log_retention_days",
    "log_execution_data",
    "log_level",
    "monitored_callees",
    "callee_defaults",
    "callees",
}
_FUNCTION_KEYS = {"function_arn", "sample_function"}


@dataclass(frozen=True)
class FunctionRef:
    """A Lambda function named in the context: a sample function of this app, or an existing one by ARN."""

    function_arn: str | None = None
    sample_function: str | None = None


#: A static fallback answer is given as ``{"answer": ...}``; its absence is not ``None`` (null is an answer).
NO_ANSWER = object()


@dataclass(frozen=True)
class FallbackEntry:
    """A callee's fallback: a function (``function_arn`` or ``sample_function``) or a static ``answer``."""

    function: FunctionRef | None = None
    answer: Any = NO_ANSWER
    on_failure: bool = False


@dataclass(frozen=True)
class CalleeEntry:
    """One registered callee: either a sample function of this app or an existing function by ARN."""

    name: str
    settings: CalleeSettings
    function_arn: str | None = None
    sample_function: str | None = None
    fallback: FallbackEntry | None = None


@dataclass(frozen=True)
class BreakerConfig:
    """The sample deployment's configuration, validated."""

    callees: tuple[CalleeEntry, ...]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_store_error: OnStoreError = OnStoreError.CALL
    max_depth: int = 16
    log_retention_days: int = 30
    log_execution_data: bool = True
    log_level: LogLevel = LogLevel.ALL
    monitored_callees: tuple[str, ...] | None = None
    """The callees with per-callee metrics and alarms; all of them when ``None``."""


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidSettingsError(f"{where} must be an object, got {value!r}")
    return value


def _check_keys(values: Mapping[str, Any], allowed: Collection[str], where: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidSettingsError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _function_ref(
    values: dict[str, Any], where: str, sample_functions: Collection[str], default_sample: str | None
) -> FunctionRef:
    """Pop ``function_arn``/``sample_function`` from ``values`` and check them."""
    function_arn = values.pop("function_arn", None)
    sample_function = values.pop("sample_function", None)
    if function_arn is not None and sample_function is not None:
        raise InvalidSettingsError(f"{where}: give function_arn or sample_function, not both")
    if function_arn is not None:
        return FunctionRef(function_arn=validate_function_arn(function_arn, f"{where}.function_arn"))
    sample_function = default_sample if sample_function is None else sample_function
    if sample_function not in sample_functions:
        raise InvalidSettingsError(
            f"{where}: {sample_function!r} is not a sample function of this app "
            f"({', '.join(sorted(sample_functions))}); register an existing function with function_arn"
        )
    return FunctionRef(sample_function=sample_function)


def _fallback_entry(raw: Any, where: str, sample_functions: Collection[str]) -> FallbackEntry:
    values = dict(_mapping(raw, where))
    _check_keys(values, {"function_arn", "sample_function", "answer", "on_failure"}, where)
    on_failure = values.pop("on_failure", False)
    if not isinstance(on_failure, bool):
        raise InvalidSettingsError(f"{where}.on_failure must be true or false, got {on_failure!r}")
    if "answer" in values:
        if set(values) != {"answer"}:
            raise InvalidSettingsError(f"{where}: give a static answer or a function (function_arn or sample_function), not both")
        return FallbackEntry(answer=values["answer"], on_failure=on_failure)
    if not values:
        raise InvalidSettingsError(f"{where}: give a static answer (\"answer\": ...) or a function (function_arn or sample_function)")
    return FallbackEntry(function=_function_ref(values, where, sample_functions, None), on_failure=on_failure)


def _callee_entry(
    name: str, raw: Any, defaults: Mapping[str, Any], sample_functions: Collection[str]
) -> CalleeEntry:
    where = f"{CONTEXT_KEY}.callees.{name}"
    validate_callee_name(name)
    values = dict(_mapping(raw, where))
    function = _function_ref(values, where, sample_functions, name)
    fallback = _fallback_entry(values.pop("fallback"), f"{where}.fallback", sample_functions) if "fallback" in values else None
    settings = CalleeSettings.from_mapping({**defaults, **values}, where)
    return CalleeEntry(
        name=name,
        settings=settings,
        function_arn=function.function_arn,
        sample_function=function.sample_function,
        fallback=fallback,
    )


def _handed_context() -> dict[str, Any]:
    """The context the CDK CLI handed this app, as JSON, read as ``App`` reads it (the overflow file's keys win)."""
    context: dict[str, Any] = {}
    sources = [os.environ.get(CONTEXT_JSON_ENV)]
    overflow = os.environ.get(CONTEXT_OVERFLOW_ENV)
    if overflow:
        try:
            with open(overflow, encoding="utf-8") as file:
                sources.append(file.read())
        except OSError:
            pass  # App itself reads the file first: it would have failed already
    for text in sources:
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = None  # App would have refused it before any stack is built
        if isinstance(document, dict):
            context.update(document)
    return context


def configured_block(scope: Construct, key: str = CONTEXT_KEY) -> Any:
    """The ``circuit_breaker`` block exactly as configured (``cdk.json``, ``cdk.context.json`` or ``-c``).

    CDK's context lookup (``node.try_get_context``) drops the null members of objects on their way from
    JavaScript: ``{"answer": {"eta": null}}`` would arrive as ``{"answer": {}}``, and ``{"answer": null}``
    as ``{}``. So the block is read from the JSON the CLI handed the app, as ``App`` reads it, and from
    the lookup only when it is not there (an ``App`` given ``context=`` in code).
    """
    handed = _handed_context()
    if key in handed:
        return handed[key]
    return scope.node.try_get_context(key)


def parse_breaker_context(raw: Any, sample_functions: Collection[str]) -> BreakerConfig:
    """Validate the ``circuit_breaker`` context block; the sample functions are always registered.

    Raises :class:`InvalidSettingsError` naming the offending key and what it accepts.
    """
    block = _mapping(raw if raw is not None else {}, CONTEXT_KEY)
    _check_keys(block, _TOP_LEVEL_KEYS, CONTEXT_KEY)

    defaults = dict(_mapping(block.get("callee_defaults", {}), f"{CONTEXT_KEY}.callee_defaults"))
    _check_keys(defaults, set(CalleeSettings.__dataclass_fields__), f"{CONTEXT_KEY}.callee_defaults")
    CalleeSettings.from_mapping(defaults, f"{CONTEXT_KEY}.callee_defaults")

    raw_callees = dict(_mapping(block.get("callees", {}), f"{CONTEXT_KEY}.callees"))
    for sample in sample_functions:
        raw_callees.setdefault(sample, {})
    callees = tuple(
        _callee_entry(name, raw_callees[name], defaults, sample_functions) for name in sorted(raw_callees)
    )

    config = BreakerConfig(callees=callees)
    if "retry" in block:
        config = replace(config, retry=RetryPolicy.from_mapping(_mapping(block["retry"], f"{CONTEXT_KEY}.retry"), f"{CONTEXT_KEY}.retry"))
    if "on_store_error" in block:
        config = replace(config, on_store_error=parse_on_store_error(block["on_store_error"]))
    if "max_depth" in block:
        config = replace(config, max_depth=validate_max_depth(block["max_depth"], f"{CONTEXT_KEY}.max_depth"))
    if "log_execution_data" in block:
        value = block["log_execution_data"]
        if not isinstance(value, bool):
            raise InvalidSettingsError(
                f"{CONTEXT_KEY}.log_execution_data must be true (log payloads for inspection and metrics) "
                f"or false (keep payloads out of the logs), got {value!r}"
            )
        config = replace(config, log_execution_data=value)
    if "log_level" in block:
        config = replace(config, log_level=parse_log_level(block["log_level"], f"{CONTEXT_KEY}.log_level"))
    if "monitored_callees" in block:
        names = block["monitored_callees"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidSettingsError(f"{CONTEXT_KEY}.monitored_callees must be a list of callee names, got {names!r}")
        unknown = sorted(set(names) - {callee.name for callee in callees})
        if unknown:
            raise InvalidSettingsError(f"{CONTEXT_KEY}.monitored_callees: " + not_registered(unknown[0], [c.name for c in callees]))
        config = replace(config, monitored_callees=tuple(names))
    if "log_retention_days" in block:
        days = block["log_retention_days"]
        if days not in LOG_RETENTION_DAYS or isinstance(days, bool):
            raise InvalidSettingsError(
                f"{CONTEXT_KEY}.log_retention_days must be one of CloudWatch Logs' periods "
                f"({', '.join(map(str, LOG_RETENTION_DAYS))}), got {days!r}"
            )
        config = replace(config, log_retention_days=days)
    return config
