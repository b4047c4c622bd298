"""The circuit-breaker extension's interface: its configuration variables and the answers it serves.

One module shared by the three parties, so they cannot drift apart: the extension (which ships this
module in its layer), the construct (``CircuitBreaker.grant_read_circuits`` sets the variables) and
the Python client (:mod:`circuit_breaker.client.extension_reader` reads the answers).

``GET http://localhost:{port}/circuits/{callee}`` answers a :class:`CircuitAnswer` as JSON: the
circuit as the workflow would act on it at that moment, from a cached strongly consistent read.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from circuit_breaker.core.record import TABLE_ENV, BreakLimits, CircuitRecord, CircuitState  # noqa: F401 - TABLE_ENV is one of the variables

#: The callees the function may check, with what the extension needs of each (JSON, see :class:`CalleeEntry`).
CALLEES_ENV = "CIRCUIT_BREAKER_CALLEES"
#: The port the extension serves on (localhost only); also tells the Python client to consult it.
PORT_ENV = "CIRCUIT_BREAKER_EXTENSION_PORT"
#: How long a read is reused, in seconds (0: every check reads the table).
CACHE_SECONDS_ENV = "CIRCUIT_BREAKER_CACHE_SECONDS"

#: Not 4243: AWS's circuit-breaker extension sample and circuitbreaker-lambda's extension listen there, and
#: two layers on one port collide (every extension of a function shares its network). Nor 2772/2773 (AWS's
#: AppConfig and Parameters and Secrets extensions), nor Lambda's Runtime API (9001).
DEFAULT_PORT = 4270
DEFAULT_CACHE_SECONDS = 5.0
MAX_CACHE_SECONDS = 3600.0
CIRCUITS_PATH = "/circuits/"
#: The state of an answer given without reading the table.
UNKNOWN_STATE = "UNKNOWN"


class InvalidExtensionConfigError(ValueError):
    """A configuration variable of the extension is missing or wrong; the message names it and the fix."""


#: The ports the extension may serve on (the unprivileged ones).
PORTS = range(1024, 65536)


@dataclass(frozen=True)
class ExtensionSettings:
    """Where the extension serves and how long it reuses a read: validated here once, for the construct's grant
    (at synth) and for the extension (at start, from the variables the grant set)."""

    port: int = DEFAULT_PORT
    cache_seconds: float = DEFAULT_CACHE_SECONDS

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or self.port not in PORTS:
            raise InvalidExtensionConfigError(f"the extension's port must be from {PORTS[0]} to {PORTS[-1]}, got {self.port!r}")
        seconds = self.cache_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or math.isnan(seconds) or not 0 <= seconds <= MAX_CACHE_SECONDS:
            raise InvalidExtensionConfigError(f"the extension's cache_seconds must be from 0 to {MAX_CACHE_SECONDS:g}, got {seconds!r}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "ExtensionSettings":
        """Read ``PORT_ENV`` and ``CACHE_SECONDS_ENV`` (defaults when unset); the error names the variable."""
        port_text = environ.get(PORT_ENV, str(DEFAULT_PORT)).strip()
        seconds_text = environ.get(CACHE_SECONDS_ENV, str(DEFAULT_CACHE_SECONDS)).strip()
        port = int(port_text) if port_text.isdigit() else -1
        if port not in PORTS:
            raise InvalidExtensionConfigError(f"{PORT_ENV} must be a port from {PORTS[0]} to {PORTS[-1]}, got {port_text!r}")
        try:
            return cls(port=port, cache_seconds=float(seconds_text))
        except (ValueError, InvalidExtensionConfigError):
            raise InvalidExtensionConfigError(
                f"{CACHE_SECONDS_ENV} must be a number of seconds from 0 to {MAX_CACHE_SECONDS:g}, got {seconds_text!r}"
            ) from None


@dataclass(frozen=True)
class CalleeEntry:
    """What the extension knows of one registered callee (its part of ``CIRCUIT_BREAKER_CALLEES``)."""

    max_break_seconds: int
    probe_lease_seconds: int
    on_store_error: str = "call"
    fallback: bool = False
    read_shards: int = 1
    """Copies of each circuit's item: the extension reads one at random, as the workflow does."""
    circuit_keys: bool = False
    """Checks may name a key (``?key=``), each with a circuit of its own."""
    ramp_seconds: int = 0
    ramp_start_share: float = 0.1

    @property
    def limits(self) -> BreakLimits:
        return BreakLimits(self.max_break_seconds, self.probe_lease_seconds)

    def entry(self) -> dict[str, Any]:
        return {
            "maxBreakSeconds": self.max_break_seconds,
            "probeLeaseSeconds": self.probe_lease_seconds,
            "onStoreError": self.on_store_error,
            "fallback": self.fallback,
            # Only what differs from the defaults: the variable counts against Lambda's 4 KB.
            **({"readShards": self.read_shards} if self.read_shards != 1 else {}),
            **({"circuitKeys": True} if self.circuit_keys else {}),
            **({"rampSeconds": self.ramp_seconds, "rampStartShare": self.ramp_start_share} if self.ramp_seconds else {}),
        }


def encode_callees(callees: Mapping[str, CalleeEntry]) -> str:
    """The value of ``CIRCUIT_BREAKER_CALLEES`` (compact JSON: it counts against Lambda's 4 KB of variables)."""
    return json.dumps({name: entry.entry() for name, entry in sorted(callees.items())}, separators=(",", ":"))


def decode_callees(text: str | None) -> dict[str, CalleeEntry]:
    """Read ``CIRCUIT_BREAKER_CALLEES``; raises :class:`InvalidExtensionConfigError` saying what is wrong."""
    fix = "grant the function with breaker.grant_read_circuits(fn), which sets it"
    if not text:
        raise InvalidExtensionConfigError(f"{CALLEES_ENV} is not set: {fix}")
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not document:
            raise ValueError("not a non-empty JSON object")
        callees = {}
        for name, values in document.items():
            callees[name] = CalleeEntry(
                max_break_seconds=int(values["maxBreakSeconds"]),
                probe_lease_seconds=int(values["probeLeaseSeconds"]),
                on_store_error=str(values.get("onStoreError", "call")),
                fallback=bool(values.get("fallback", False)),
                read_shards=max(1, int(values.get("readShards", 1))),
                circuit_keys=values.get("circuitKeys") is True,
                ramp_seconds=max(0, int(values.get("rampSeconds", 0))),
                ramp_start_share=float(values.get("rampStartShare", 0.1)),
            )
            callees[name].limits  # noqa: B018 - validates the limits
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise InvalidExtensionConfigError(f"{CALLEES_ENV} is not the registry grant_read_circuits writes ({error}): {fix}") from None
    return callees


@dataclass(frozen=True)
class CircuitAnswer:
    """One circuit as the extension serves it (JSON keys in camelCase, as the workflow's causes)."""

    callee: str
    state: str
    """``CLOSED``, ``OPEN``, ``HALF_OPEN`` or ``ISOLATED`` as the workflow acts on it; ``UNKNOWN`` when the table could not be read."""
    allowed: bool
    """A call made now reaches the callee (or probes it): the workflow would not fail it fast."""
    retryAfter: int | None = None
    """Epoch seconds from which calls go through again (an isolation without an end: ``None``)."""
    isolated: bool = False
    reason: str | None = None
    """An isolation's reason."""
    probeDue: bool = False
    """The break is over: the next call through the workflow probes the callee."""
    malformed: bool = False
    problems: list[str] = field(default_factory=list)
    fallback: bool = False
    """The callee has a fallback: the workflow answers with it instead of failing fast."""
    failOpen: bool = False
    """The table could not be read and the callee's ``on_store_error`` is ``call``: allowed without knowing."""
    storeError: str | None = None
    ageSeconds: float = 0.0
    """How old the table read behind this answer is."""
    key: str | None = None
    """The key whose own circuit this is (``?key=``), or ``None``."""
    rampShare: float = 1.0
    """The share of calls the workflow lets through now: below 1 while a ramp after a close runs (the rest fail
    fast as ``RAMPING``): a hint, since the workflow draws each call."""

    @classmethod
    def from_record(cls, record: CircuitRecord, entry: CalleeEntry, age: float) -> "CircuitAnswer":
        fails_fast = record.fails_fast()
        return cls(
            callee=record.callee,
            state=record.state.value,
            allowed=not fails_fast,
            retryAfter=record.retry_after if fails_fast else None,
            isolated=record.state is CircuitState.ISOLATED,
            reason=record.reason if record.state is CircuitState.ISOLATED else None,
            probeDue=record.probe_due,
            malformed=record.malformed,
            problems=list(record.problems),
            fallback=entry.fallback,
            ageSeconds=round(age, 3),
            key=record.key,
            rampShare=round(record.ramp_share(entry.ramp_seconds, entry.ramp_start_share), 3),
        )

    @classmethod
    def from_store_error(cls, callee: str, entry: CalleeEntry, error: str, age: float, key: str | None = None) -> "CircuitAnswer":
        """The answer when the table cannot be read: as the workflow treats it (``on_store_error``)."""
        allowed = entry.on_store_error != "fail"
        return cls(
            callee=callee, state=UNKNOWN_STATE, allowed=allowed, fallback=entry.fallback,
            failOpen=allowed, storeError=error[:512], ageSeconds=round(age, 3), key=key,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> "CircuitAnswer":
        """Parse an answer (unknown keys ignored, so a newer extension still answers an older client)."""
        known = {f: document[f] for f in cls.__dataclass_fields__ if f in document}
        return cls(**known)
