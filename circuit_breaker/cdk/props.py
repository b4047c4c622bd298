"""The construct's properties: the callees it protects, how it treats them, and its secure defaults.

Validated when built (``__post_init__``), so a wrong value fails ``cdk synth`` with a message naming it, before any
resource is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from circuit_breaker.cdk.monitoring import MAX_METRIC_FILTERS, metric_filter_count
from circuit_breaker.core.registry import not_registered
from circuit_breaker.core.settings import (
    CalleeSettings,
    InvalidSettingsError,
    LogLevel,
    OnStoreError,
    RetryPolicy,
    parse_log_level,
    validate_callee_name,
    validate_function_arn,
    validate_max_depth,
)

#: A static fallback answer may be at most this large (as JSON): it is baked into the definition.
MAX_STATIC_ANSWER_BYTES = 32_768

_NO_ANSWER = object()


@dataclass(frozen=True)
class Fallback:
    """Where an answer comes from when a callee's circuit is open or isolated, instead of an error (Polly's fallback).

    Either a Lambda ``function`` (granted to the workflow like the callees, nothing else), called with
    ``{"payload": <the original payload>, "breaker": {"error": ..., "cause": {...}}}``, or a static
    JSON ``answer``. With ``on_failure`` the fallback also answers when the callee failed after its
    retries (never for an error the callee declares an answer). A fallback's answer reaches the caller
    as ``{"circuitBreakerFallback": {"error", "cause", "source"}, "answer": ...}``. Only synchronous calls
    fall back: an asynchronous call (with an idempotency key) goes to the dead-letter queue instead.
    """

    function: lambda_.IFunction | None = None
    answer: Any = _NO_ANSWER
    on_failure: bool = False

    def __post_init__(self) -> None:
        if (self.function is None) == (self.answer is _NO_ANSWER):
            raise InvalidSettingsError("a Fallback takes either a function or a static answer, not both and not neither")
        if not isinstance(self.on_failure, bool):
            raise InvalidSettingsError(f"Fallback.on_failure must be true or false, got {self.on_failure!r}")
        if self.answer is not _NO_ANSWER:
            try:
                text = json.dumps(self.answer, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise InvalidSettingsError(f"a static fallback answer must be JSON: {error}") from None
            if len(text.encode()) > MAX_STATIC_ANSWER_BYTES:
                raise InvalidSettingsError(
                    f"a static fallback answer may be at most {MAX_STATIC_ANSWER_BYTES} bytes of JSON, got {len(text.encode())}: "
                    "answer from a fallback function instead"
                )

    def entry(self) -> dict[str, object]:
        """The fallback as the state machine reads it."""
        if self.function is not None:
            return {"functionArn": self.function.function_arn, "onFailure": self.on_failure}
        return {"answer": self.answer, "onFailure": self.on_failure}


@dataclass(frozen=True)
class Callee:
    """A Lambda function registered with the breaker, how the breaker treats it, and its optional fallback."""

    function: lambda_.IFunction
    settings: CalleeSettings = field(default_factory=CalleeSettings)
    fallback: Fallback | None = None


@dataclass(frozen=True)
class CircuitBreakerProps:
    """Properties of :class:`CircuitBreaker`; everything but ``callees`` has a secure default."""

    callees: Mapping[str, Callee]
    """The registry: callee name (what callers pass as ``callee``) to function and settings."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Backoff between attempts to call a callee; a callee's own ``CalleeSettings.retry`` overrides it."""
    on_store_error: OnStoreError = OnStoreError.CALL
    """Fail open (``CALL``) or closed (``FAIL``) when the table cannot be read; callees may override it."""
    max_depth: int = 16
    """Call-chain depth at which a call fails with ``RecursionLimitExceeded``."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    """How long execution logs (which include payloads) are kept."""
    log_level: LogLevel = LogLevel.ALL
    """Which execution events are logged: ``ALL`` (every call inspectable, per-callee metrics and alarms), ``ERROR``
    (failures only: a healthy call writes nothing, the alarms watch failures), ``FATAL`` (failed executions only) or
    ``OFF`` (nothing). What each keeps and costs: the README's *Log levels*."""
    log_execution_data: bool = True
    """Log each state's input, output and variables (payloads included) for inspection in the console and
    ``breaker history``. Payloads can be personal data: ``False`` keeps them out of the logs, and with them
    the per-callee metrics and alarms, which read the workflow's markers from the logged variables."""
    log_encryption_key: kms.IKey | None = None
    """A KMS key for the execution logs; by default CloudWatch Logs' own encryption at rest."""
    table_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """Whether ``cdk destroy`` keeps the circuit table (it does by default, as CDK tables do)."""
    state_machine_name: str | None = None
    """A fixed name for the state machine; generated by default."""
    event_bus: events.IEventBus | None = None
    """Where circuit transitions are published; the account's default event bus by default."""
    event_source: str = "circuit-breaker"
    """The ``source`` of the transition events."""
    monitoring: bool = True
    """Metric filters, alarms and a dashboard (at level ALL at most 16 callees: 6 filters each)."""
    monitored_callees: Collection[str] | None = None
    """The callees that get per-callee metrics and alarms (a log group takes 100 metric filters); all by default."""
    metrics_namespace: str = "CircuitBreaker"
    """Each callee's metrics are in ``<metrics_namespace>/<callee>``."""
    stays_open_minutes: int = 5
    """Minutes of short-circuited calls, every minute, after which a callee's "stays open" alarm fires."""
    powertools_layer: lambda_.ILayerVersion | None = None
    """The health-check function's Powertools for AWS Lambda layer; by default Powertools' public layer of the
    version this package pins (looked up in the stack's region)."""

    @property
    def monitored(self) -> tuple[str, ...]:
        """The callees with per-callee metrics and alarms."""
        return tuple(sorted(self.callees)) if self.monitored_callees is None else tuple(self.monitored_callees)

    def __post_init__(self) -> None:
        if not self.callees:
            raise InvalidSettingsError("register at least one callee: CircuitBreakerProps.callees is empty")
        validate_max_depth(self.max_depth, "max_depth")
        object.__setattr__(self, "log_level", parse_log_level(self.log_level, "CircuitBreakerProps.log_level"))
        if self.monitored_callees is not None:
            object.__setattr__(self, "monitored_callees", tuple(sorted(set(self.monitored_callees))))
            for name in self.monitored_callees:
                if name not in self.callees:
                    raise InvalidSettingsError("monitored_callees: " + not_registered(name, self.callees))
        filters = metric_filter_count(
            {name: self.callees[name].settings for name in self.monitored}, self.log_level, self.log_execution_data
        ) if self.monitoring else 0
        if filters > MAX_METRIC_FILTERS:
            raise InvalidSettingsError(
                f"monitoring these {len(self.monitored)} callees takes {filters} metric filters, and a log group takes at most "
                f"{MAX_METRIC_FILTERS} (6 per callee at log level ALL, one more for observe mode and for slow_call_seconds "
                "each, and the breaker-wide ones): name the callees to monitor (monitored_callees), split them over several "
                "breakers, or set monitoring=False"
            )
        if not 1 <= self.stays_open_minutes <= 60:
            raise InvalidSettingsError(f"stays_open_minutes must be from 1 to 60, got {self.stays_open_minutes!r}")
        if not self.event_source or self.event_source.startswith("aws."):
            raise InvalidSettingsError(f"event_source must be a non-empty name outside 'aws.', got {self.event_source!r}")
        for name, callee in self.callees.items():
            validate_callee_name(name)
            functions = {"the function's ARN": callee.function}
            if callee.fallback and callee.fallback.function:
                functions["the fallback function's ARN"] = callee.fallback.function
            for what, function in functions.items():
                if not Token.is_unresolved(function.function_arn):
                    validate_function_arn(function.function_arn, f"callee {name!r}: {what}")
