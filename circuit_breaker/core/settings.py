"""Per-callee settings and the workflow's retry policy.

Plain dataclasses with the defaults of the README's *Configuration* tables. They are validated when built, so a bad value
fails ``cdk synth`` with a message naming the setting, instead of producing a state machine that
misbehaves at run time. Nothing here imports aws-cdk-lib: the values are unit-testable on their own.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, Mapping, TypeVar

#: Callee names are substituted into JSONata expressions; this pattern keeps any name from breaking one.
#: Every validating pattern ends with ``\Z`` and is used with ``fullmatch``: Python's ``$`` also matches before a
#: final newline, so ``"payment\n"`` would pass ``^...$``.
CALLEE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")

#: Seconds a half-open probe's lease outlives the probe's own timeout: time to write the lease and the result.
PROBE_LEASE_MARGIN_SECONDS = 5

#: Step Functions Express workflows end after five minutes; every wait has to fit inside.
EXPRESS_MAX_SECONDS = 300

#: Headroom in an execution's five minutes after the deadline: the table's writes, an event, their retries.
STORE_HEADROOM_SECONDS = 15

#: Error names a callee may declare as answers: the names Lambda reports (a Python or Node class name,
#: a Java class's full name). They are substituted into the definition, so no quote or backslash.
ERROR_NAME_PATTERN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$:-]{0,255}\Z")

#: Prefixes of errors that always count: Step Functions' own (timeouts) and the Lambda service's.
_ALWAYS_COUNTED_PREFIXES = ("States.", "Lambda.")


class InvalidSettingsError(ValueError):
    """A callee setting, the retry policy or a name in the registry is not valid."""


class OnStoreError(str, Enum):
    """What an execution does when the circuit table cannot be read after retries."""

    CALL = "call"
    """Fail open: call the callee anyway (the execution's history records the store error)."""
    FAIL = "fail"
    """Fail closed: end with ``CircuitBreaker.StoreUnavailable`` without calling the callee."""


class LogLevel(str, Enum):
    """Which of an execution's history events Step Functions writes to the log group (its four levels).

    Step Functions' *Log levels* (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html):
    ``ALL`` logs every event, ``ERROR`` the failures (failed tasks, fail states, failed executions), ``FATAL`` only an
    execution's end when it failed, timed out or was aborted, ``OFF`` nothing.
    """

    ALL = "ALL"
    """Every event: successful calls can be inspected, and the per-callee metrics read the workflow's markers."""
    ERROR = "ERROR"
    """Failures only (a failed read or write of the table, a failed attempt, a failed execution)."""
    FATAL = "FATAL"
    """Only executions that failed, timed out or were aborted."""
    OFF = "OFF"
    """Nothing."""


def parse_log_level(value: object, where: str = "log_level") -> LogLevel:
    """Read ``ALL``/``ERROR``/``FATAL``/``OFF`` (as written in ``cdk.json``) into :class:`LogLevel`."""
    if isinstance(value, LogLevel):
        return value
    try:
        return LogLevel(value)
    except ValueError:
        raise InvalidSettingsError(
            f"{where} must be one of ALL (every event: successful calls inspectable, per-callee metrics), ERROR "
            f"(failures only), FATAL (failed executions only) or OFF (no execution logs), got {value!r}"
        ) from None


def validate_max_depth(depth: object, where: str) -> int:
    """Return ``depth`` if it can be the call-chain limit (1 to 1000), else raise naming ``where``."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 1000:
        raise InvalidSettingsError(f"{where} must be a whole number from 1 to 1000, got {depth!r}")
    return depth


def validate_callee_name(name: object) -> str:
    """Return ``name`` if it can be registered, else raise :class:`InvalidSettingsError`."""
    if not isinstance(name, str) or not CALLEE_NAME_PATTERN.fullmatch(name):
        raise InvalidSettingsError(
            f"callee name {name!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def _require_int(owner: str, name: str, value: object, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSettingsError(f"{owner}.{name} must be a whole number, got {value!r}")
    if not minimum <= value <= maximum:
        raise InvalidSettingsError(f"{owner}.{name} must be between {minimum} and {maximum}, got {value}")


class Mode(str, Enum):
    """Whether the breaker acts on its circuits or only watches them."""

    ENFORCE = "enforce"
    """Fail fast while a circuit is open, isolated or ramping (or answer with the fallback)."""
    OBSERVE = "observe"
    """Count, open, probe, publish and alarm as ``enforce`` would, but always call the callee: the would-be
    outcome is logged (``observed``), published (``observed: true``) and counted (``ObservedShortCircuits``)."""


#: The most copies of a circuit's item that reads are spread over (``read_shards``).
MAX_READ_SHARDS = 32
#: Sampled successes a circuit's counting writes at most per second, on average, while a failure window is open
#: (the rate rule): each sample carries the weight of the calls it stands for.
SUCCESS_SAMPLES_PER_SECOND = 5
#: ``minimum_calls`` when ``failure_rate_threshold`` is set and it is not.
DEFAULT_MINIMUM_CALLS = 10
#: A ramp after closing starts by letting this share of calls through, and grows linearly to all of them.
RAMP_START_SHARE = 0.1


def _require_number(owner: str, name: str, value: object, above: float, at_most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidSettingsError(f"{owner}.{name} must be a number, got {value!r}")
    if not above < value <= at_most:
        raise InvalidSettingsError(f"{owner}.{name} must be more than {above:g} and at most {at_most:g}, got {value:g}")
    return float(value)


def _require_bool(owner: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidSettingsError(f"{owner}.{name} must be true or false, got {value!r}")


class JitterStrategy(str, Enum):
    """ASL ``JitterStrategy`` values."""

    FULL = "FULL"
    NONE = "NONE"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts to call a callee: the breaker-wide default, or one callee's.

    ``max_attempts`` counts retries, so a callee is called up to ``max_attempts + 1`` times. The wait
    before retry ``n`` (from 1) is ``min(interval_seconds * backoff_rate ** (n - 1), max_delay_seconds)``
    rounded up to whole seconds (Wait states take whole seconds), or with ``FULL`` jitter a whole number
    of seconds drawn uniformly from 0 to that.
    """

    interval_seconds: int = 1
    backoff_rate: float = 2.0
    max_attempts: int = 3
    max_delay_seconds: int = 8
    jitter_strategy: JitterStrategy = JitterStrategy.FULL

    def __post_init__(self) -> None:
        owner = "RetryPolicy"
        _require_int(owner, "interval_seconds", self.interval_seconds, 1, EXPRESS_MAX_SECONDS)
        _require_int(owner, "max_attempts", self.max_attempts, 0, 99)
        _require_int(owner, "max_delay_seconds", self.max_delay_seconds, 1, EXPRESS_MAX_SECONDS)
        rate = self.backoff_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 1.0 <= rate <= 10.0:
            raise InvalidSettingsError(f"{owner}.backoff_rate must be a number from 1.0 to 10.0, got {rate!r}")
        if not isinstance(self.jitter_strategy, JitterStrategy):
            try:
                object.__setattr__(self, "jitter_strategy", JitterStrategy(self.jitter_strategy))
            except ValueError:
                raise InvalidSettingsError(
                    f"{owner}.jitter_strategy must be 'FULL' or 'NONE', got {self.jitter_strategy!r}"
                ) from None

    def delays(self) -> list[int]:
        """The wait before each retry without jitter (the upper bound of each wait with full jitter), in seconds."""
        return [
            min(math.ceil(self.interval_seconds * self.backoff_rate ** min(attempt, 30)), self.max_delay_seconds)
            for attempt in range(self.max_attempts)
        ]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> "RetryPolicy":
        """Build a policy from a JSON-like mapping (``cdk.json`` context), naming ``where`` in errors."""
        return _from_mapping(cls, values, where, "retry setting")


@dataclass(frozen=True)
class CalleeSettings:
    """How the breaker treats one callee (the README's *Configuration*)."""

    failure_threshold: int = 5
    """Failed attempts within the window that open the circuit.

    Every failed attempt counts (the breaker sits inside the retry loop, as in Polly and resilience4j).
    With the default policy one call makes up to 4 attempts: 5 means one caller's failing call does not
    open the circuit on its own, while a second failing caller does.
    """
    failure_window_seconds: int = 60
    """How long failures are counted together; a failure after the window starts a new one."""
    break_seconds: int = 30
    """How long the circuit stays open the first time."""
    max_break_seconds: int = 300
    """Cap of the break, which doubles after each failed half-open probe."""
    timeout_seconds: int = 10
    """Limit of each attempt to call the callee."""
    on_store_error: OnStoreError | None = None
    """``call`` or ``fail`` when the table cannot be read; ``None`` takes the breaker-wide setting."""
    ignored_errors: tuple[str, ...] = ()
    """Error names the callee raises as answers (``CardDeclined``): never retried, never counted."""
    retry: RetryPolicy | None = None
    """This callee's retry policy; ``None`` takes the breaker-wide one."""
    health_check: "HealthCheck | None" = None
    """A scheduled probe of the callee that can close its circuit early or open it (``None``: no probe)."""
    deadline_seconds: int = 50
    """No retry starts that could not finish within this many seconds of the call's start.

    The default lets all four attempts of the default policy run with a 10-second timeout (47 s at worst)
    and stays under the 60-second read timeout of a caller's SDK waiting on ``StartSyncExecution``.
    """
    failure_rate_threshold: float | None = None
    """Trip on a rate instead of a count: the circuit opens when, in a failure window, at least
    ``minimum_calls`` attempts were recorded and this fraction of them failed (0 < r <= 1). ``None``: the
    count rule (``failure_threshold``)."""
    minimum_calls: int | None = None
    """Attempts a failure window must have recorded before the rate rule may open it (default 10 with a rate)."""
    slow_call_seconds: float | None = None
    """A successful attempt slower than this counts towards opening as a failure would (its answer is still
    returned, and it is not retried); less than ``timeout_seconds``. ``None``: speed never counts."""
    success_threshold: int = 1
    """Consecutive successful probes (one at a time) that close a half-open circuit."""
    ramp_seconds: int = 0
    """After a probe (or a health check) closes the circuit, the share of calls let through grows linearly from
    a tenth to all over this time; the others fail fast (``state: RAMPING``). 0: all at once."""
    mode: Mode = Mode.ENFORCE
    """``enforce``, or ``observe``: record and publish everything, never fail a call fast."""
    circuit_keys: bool = False
    """Calls may name a ``key`` (a tenant, say): each key has a circuit of its own."""
    read_shards: int = 1
    """Copies of each circuit's item that executions read, one chosen at random per execution: above about
    3,000 calls per second to one circuit (DynamoDB's per-item read limit) use more (transitions write all)."""
    consistent_reads: bool = True
    """Strongly consistent reads (1 read unit); ``False`` halves the read's cost and may see a state up to about a
    second old (one more call after an open, one more fast fail after a close)."""

    def __post_init__(self) -> None:
        owner = "CalleeSettings"
        _require_int(owner, "failure_threshold", self.failure_threshold, 1, 1000)
        _require_int(owner, "failure_window_seconds", self.failure_window_seconds, 1, 86_400)
        _require_int(owner, "break_seconds", self.break_seconds, 1, 86_400)
        _require_int(owner, "max_break_seconds", self.max_break_seconds, 1, 31_536_000)
        _require_int(owner, "timeout_seconds", self.timeout_seconds, 1, EXPRESS_MAX_SECONDS)
        if self.max_break_seconds < self.break_seconds:
            raise InvalidSettingsError(
                f"{owner}.max_break_seconds ({self.max_break_seconds}) must not be less than "
                f"break_seconds ({self.break_seconds})"
            )
        if self.on_store_error is not None and not isinstance(self.on_store_error, OnStoreError):
            object.__setattr__(self, "on_store_error", parse_on_store_error(self.on_store_error))
        object.__setattr__(self, "ignored_errors", _error_names(owner, self.ignored_errors))
        if self.retry is not None and not isinstance(self.retry, RetryPolicy):
            if not isinstance(self.retry, Mapping):
                raise InvalidSettingsError(f"{owner}.retry must be a retry policy (an object of retry settings), got {self.retry!r}")
            object.__setattr__(self, "retry", RetryPolicy.from_mapping(self.retry, f"{owner}.retry"))
        if self.health_check is not None and not isinstance(self.health_check, HealthCheck):
            if not isinstance(self.health_check, Mapping):
                raise InvalidSettingsError(
                    f"{owner}.health_check must be an object such as {{\"url\": \"https://...\"}} or {{\"payload\": {{...}}}}, got {self.health_check!r}"
                )
            object.__setattr__(self, "health_check", HealthCheck.from_mapping(self.health_check, f"{owner}.health_check"))
        _require_int(owner, "deadline_seconds", self.deadline_seconds, 1, EXPRESS_MAX_SECONDS - STORE_HEADROOM_SECONDS)
        if self.deadline_seconds < self.timeout_seconds:
            raise InvalidSettingsError(
                f"{owner}.deadline_seconds ({self.deadline_seconds}) must be at least timeout_seconds "
                f"({self.timeout_seconds}): one attempt has to fit before the deadline"
            )
        self._check_trip_rules(owner)

    def _check_trip_rules(self, owner: str) -> None:
        if self.failure_rate_threshold is not None:
            _require_number(owner, "failure_rate_threshold", self.failure_rate_threshold, 0, 1)
            if self.minimum_calls is None:
                object.__setattr__(self, "minimum_calls", DEFAULT_MINIMUM_CALLS)
            _require_int(owner, "minimum_calls", self.minimum_calls, 1, 1_000_000)
        elif self.minimum_calls is not None:
            raise InvalidSettingsError(
                f"{owner}.minimum_calls applies to the rate rule only: set failure_rate_threshold too, or remove it"
            )
        if self.slow_call_seconds is not None:
            _require_number(owner, "slow_call_seconds", self.slow_call_seconds, 0, self.timeout_seconds)
            if self.slow_call_seconds >= self.timeout_seconds:
                raise InvalidSettingsError(
                    f"{owner}.slow_call_seconds ({self.slow_call_seconds:g}) must be less than timeout_seconds "
                    f"({self.timeout_seconds}): an attempt that long times out instead"
                )
        _require_int(owner, "success_threshold", self.success_threshold, 1, 100)
        _require_int(owner, "ramp_seconds", self.ramp_seconds, 0, 86_400)
        if not isinstance(self.mode, Mode):
            try:
                object.__setattr__(self, "mode", Mode(self.mode))
            except ValueError:
                raise InvalidSettingsError(f"{owner}.mode must be 'enforce' or 'observe', got {self.mode!r}") from None
        _require_bool(owner, "circuit_keys", self.circuit_keys)
        _require_int(owner, "read_shards", self.read_shards, 1, MAX_READ_SHARDS)
        _require_bool(owner, "consistent_reads", self.consistent_reads)

    @property
    def uses_rate(self) -> bool:
        """The rate rule decides (``failure_rate_threshold`` is set), not the count."""
        return self.failure_rate_threshold is not None

    @property
    def probe_lease_seconds(self) -> int:
        """How long a half-open probe holds its lease: the probe's timeout plus a margin."""
        return self.timeout_seconds + PROBE_LEASE_MARGIN_SECONDS

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> "CalleeSettings":
        """Build settings from a JSON-like mapping (``cdk.json`` context), naming ``where`` in errors."""
        return _from_mapping(cls, values, where, "setting")


#: A health check's payload is baked into its schedule's input: keep it small.
MAX_HEALTH_PAYLOAD_BYTES = 32_768
#: Longest URL a health check may GET.
MAX_HEALTH_URL_LENGTH = 2048
_HEALTH_URL = re.compile(r"^https?://[^\s/?#@]+(:[0-9]{1,5})?([/?#]\S*)?\Z")


class _NoPayload:
    """The absence of a health-check payload (``None`` is a payload: JSON null)."""

    def __repr__(self) -> str:
        return "NO_PAYLOAD"


NO_PAYLOAD: Any = _NoPayload()


@dataclass(frozen=True)
class HealthCheck:
    """A scheduled probe of one callee: GET a ``url``, or invoke the callee with a ``payload``.

    Every ``rate_minutes`` one check runs. A 2xx or 3xx answer (not followed), or an invocation that
    returns without a function error, is healthy; anything else (a 4xx or 5xx, a timeout after
    ``timeout_seconds``, a connection error, a function error) is unhealthy. ``failures_to_open``
    unhealthy checks in a row open a closed circuit; ``successes_to_close`` healthy checks in a row
    close an open or half-open one early. An isolated circuit is never changed.
    """

    url: str | None = None
    payload: Any = NO_PAYLOAD
    rate_minutes: int = 1
    timeout_seconds: int = 5
    failures_to_open: int = 3
    successes_to_close: int = 2

    def __post_init__(self) -> None:
        owner = "HealthCheck"
        has_payload = self.payload is not NO_PAYLOAD
        if (self.url is None) == (not has_payload):
            raise InvalidSettingsError(
                f"{owner} takes either a url to GET or a payload to invoke the callee with, not both and not neither"
            )
        if self.url is not None:
            url = self.url
            if not isinstance(url, str) or len(url) > MAX_HEALTH_URL_LENGTH or not _HEALTH_URL.fullmatch(url):
                raise InvalidSettingsError(
                    f"{owner}.url must be an http:// or https:// URL of at most {MAX_HEALTH_URL_LENGTH} characters "
                    f"(no spaces, no user:password@), got {url!r}"
                )
        else:
            try:
                size = len(json.dumps(self.payload, allow_nan=False).encode())
            except (TypeError, ValueError) as error:
                raise InvalidSettingsError(f"{owner}.payload must be JSON: {error}") from None
            if size > MAX_HEALTH_PAYLOAD_BYTES:
                raise InvalidSettingsError(f"{owner}.payload may be at most {MAX_HEALTH_PAYLOAD_BYTES} bytes of JSON, got {size}")
        _require_int(owner, "rate_minutes", self.rate_minutes, 1, 1440)
        _require_int(owner, "timeout_seconds", self.timeout_seconds, 1, 60)
        _require_int(owner, "failures_to_open", self.failures_to_open, 1, 100)
        _require_int(owner, "successes_to_close", self.successes_to_close, 1, 100)

    @property
    def kind(self) -> str:
        """``url`` or ``payload``."""
        return "url" if self.url is not None else "payload"

    @property
    def interval_seconds(self) -> int:
        return self.rate_minutes * 60

    @property
    def schedule_expression(self) -> str:
        """EventBridge Scheduler's ``rate(...)`` expression."""
        return f"rate({self.rate_minutes} minute{'' if self.rate_minutes == 1 else 's'})"

    def entry(self) -> dict[str, Any]:
        """The check as the health-check function reads it (camelCase, as the workflow's registry)."""
        document: dict[str, Any] = {
            "intervalSeconds": self.interval_seconds,
            "timeoutSeconds": self.timeout_seconds,
            "failuresToOpen": self.failures_to_open,
            "successesToClose": self.successes_to_close,
        }
        if self.url is not None:
            document["url"] = self.url
        else:
            document["payload"] = self.payload
        return document

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> "HealthCheck":
        """The check back from :meth:`entry` (raises :class:`InvalidSettingsError` on anything else)."""
        interval = entry.get("intervalSeconds")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval % 60:
            raise InvalidSettingsError(f"intervalSeconds must be a whole number of minutes in seconds, got {interval!r}")
        try:
            return cls(
                url=entry.get("url"),
                payload=entry["payload"] if "payload" in entry else NO_PAYLOAD,
                rate_minutes=interval // 60,
                timeout_seconds=entry.get("timeoutSeconds"),  # type: ignore[arg-type]
                failures_to_open=entry.get("failuresToOpen"),  # type: ignore[arg-type]
                successes_to_close=entry.get("successesToClose"),  # type: ignore[arg-type]
            )
        except TypeError as error:
            raise InvalidSettingsError(str(error)) from None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> "HealthCheck":
        """Build a check from a JSON-like mapping (``cdk.json`` context), naming ``where`` in errors."""
        return _from_mapping(cls, values, where, "health check setting")


#: A Lambda function's ARN: name, or name with a version or alias. Registered ARNs are substituted into the
#: definition, so anything else (a quote, say) is refused at synth instead of breaking every call.
FUNCTION_ARN_PATTERN = re.compile(
    r"^arn:aws(-[a-z]+)*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?\Z"
)


def validate_function_arn(arn: object, where: str) -> str:
    """Return ``arn`` if it is a Lambda function ARN, else raise :class:`InvalidSettingsError` naming ``where``."""
    if not isinstance(arn, str) or not FUNCTION_ARN_PATTERN.fullmatch(arn):
        raise InvalidSettingsError(
            f"{where} must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME, "
            f"optionally :VERSION or :ALIAS), got {arn!r}"
        )
    return arn


def _error_names(owner: str, names: object) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise InvalidSettingsError(f"{owner}.ignored_errors must be a list of error names, got {names!r}")
    for name in names:
        if not isinstance(name, str) or not ERROR_NAME_PATTERN.fullmatch(name):
            raise InvalidSettingsError(
                f"{owner}.ignored_errors: {name!r} is not an error name; use the name Lambda reports as errorType "
                "(a class name such as CardDeclined or com.example.CardDeclinedException: letters, digits, '_', '.', '$', ':', '-')"
            )
        if name.startswith(_ALWAYS_COUNTED_PREFIXES):
            raise InvalidSettingsError(
                f"{owner}.ignored_errors: {name!r} cannot be ignored: timeouts (States.*) and the Lambda service's "
                "own errors (Lambda.*) are outages, and always count"
            )
    if len(set(names)) != len(names):
        raise InvalidSettingsError(f"{owner}.ignored_errors lists a name twice: {sorted(names)}")
    return tuple(names)


def parse_on_store_error(value: object) -> OnStoreError:
    """Read ``call``/``fail`` (as written in ``cdk.json``) into :class:`OnStoreError`."""
    try:
        return OnStoreError(value)
    except ValueError:
        raise InvalidSettingsError(
            f"on_store_error must be 'call' (fail open) or 'fail' (fail closed), got {value!r}"
        ) from None


_Settings = TypeVar("_Settings", CalleeSettings, RetryPolicy, HealthCheck)


def _from_mapping(cls: type[_Settings], values: Mapping[str, Any], where: str, what: str) -> _Settings:
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidSettingsError(f"{where}: unknown {what}(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    try:
        return cls(**dict(values))
    except InvalidSettingsError as error:
        raise InvalidSettingsError(f"{where}: {error}") from None
