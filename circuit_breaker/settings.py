"""Per-callee settings and the workflow's retry policy.

Plain dataclasses with the defaults of the README's *Configuration* tables. They are validated when built, so a bad value
fails ``cdk synth`` with a message naming the setting, instead of producing a state machine that
misbehaves at run time. Nothing here imports aws-cdk-lib: the values are unit-testable on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, Mapping, TypeVar

#: Callee names are substituted into JSONata expressions; this pattern keeps any name from breaking one.
CALLEE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Seconds a half-open probe's lease outlives the probe's own timeout: time to write the lease and the result.
PROBE_LEASE_MARGIN_SECONDS = 5

#: Step Functions Express workflows end after five minutes; every wait has to fit inside.
EXPRESS_MAX_SECONDS = 300


class InvalidSettingsError(ValueError):
    """A callee setting, the retry policy or a name in the registry is not valid."""


class OnStoreError(str, Enum):
    """What an execution does when the circuit table cannot be read after retries."""

    CALL = "call"
    """Fail open: call the callee anyway (the execution's history records the store error)."""
    FAIL = "fail"
    """Fail closed: end with ``CircuitBreaker.StoreUnavailable`` without calling the callee."""


def validate_callee_name(name: object) -> str:
    """Return ``name`` if it can be registered, else raise :class:`InvalidSettingsError`."""
    if not isinstance(name, str) or not CALLEE_NAME_PATTERN.match(name):
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


@dataclass(frozen=True)
class CalleeSettings:
    """How the breaker treats one callee (the README's *Configuration*)."""

    failure_threshold: int = 3
    """Failed calls (each after its retries) within the window that open the circuit."""
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

    @property
    def probe_lease_seconds(self) -> int:
        """How long a half-open probe holds its lease: the probe's timeout plus a margin."""
        return self.timeout_seconds + PROBE_LEASE_MARGIN_SECONDS

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> "CalleeSettings":
        """Build settings from a JSON-like mapping (``cdk.json`` context), naming ``where`` in errors."""
        return _from_mapping(cls, values, where, "setting")


def parse_on_store_error(value: object) -> OnStoreError:
    """Read ``call``/``fail`` (as written in ``cdk.json``) into :class:`OnStoreError`."""
    try:
        return OnStoreError(value)
    except ValueError:
        raise InvalidSettingsError(
            f"on_store_error must be 'call' (fail open) or 'fail' (fail closed), got {value!r}"
        ) from None


class JitterStrategy(str, Enum):
    """ASL ``JitterStrategy`` values."""

    FULL = "FULL"
    NONE = "NONE"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts to call a callee; one policy for the whole workflow.

    ``max_attempts`` counts retries, so a callee is called up to ``max_attempts + 1`` times.
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

    def delays(self) -> list[float]:
        """The wait before each retry without jitter (the upper bound of each wait with full jitter)."""
        return [
            min(self.interval_seconds * self.backoff_rate**attempt, self.max_delay_seconds)
            for attempt in range(self.max_attempts)
        ]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> "RetryPolicy":
        """Build a policy from a JSON-like mapping (``cdk.json`` context), naming ``where`` in errors."""
        return _from_mapping(cls, values, where, "retry setting")


_Settings = TypeVar("_Settings", CalleeSettings, RetryPolicy)


def _from_mapping(cls: type[_Settings], values: Mapping[str, Any], where: str, what: str) -> _Settings:
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidSettingsError(f"{where}: unknown {what}(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    try:
        return cls(**dict(values))
    except InvalidSettingsError as error:
        raise InvalidSettingsError(f"{where}: {error}") from None
