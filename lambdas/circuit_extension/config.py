"""The extension's configuration, read once from the function's environment (set by ``grant_read_circuits``)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

from circuit_breaker.extension_api import (
    CACHE_SECONDS_ENV,
    CALLEES_ENV,
    DEFAULT_CACHE_SECONDS,
    DEFAULT_PORT,
    MAX_CACHE_SECONDS,
    PORT_ENV,
    TABLE_ENV,
    CalleeEntry,
    InvalidExtensionConfigError,
    decode_callees,
)


@dataclass(frozen=True)
class ExtensionConfig:
    """Where to read, what may be asked, where to serve and how long to reuse a read."""

    table_name: str
    callees: Mapping[str, CalleeEntry]
    port: int = DEFAULT_PORT
    cache_seconds: float = DEFAULT_CACHE_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "ExtensionConfig":
        """Read the variables; raises :class:`InvalidExtensionConfigError` naming the one that is wrong."""
        environ = os.environ if environ is None else environ
        table = environ.get(TABLE_ENV, "").strip()
        if not table:
            raise InvalidExtensionConfigError(f"{TABLE_ENV} is not set: grant the function with breaker.grant_read_circuits(fn), which sets it")
        port_text = environ.get(PORT_ENV, str(DEFAULT_PORT)).strip()
        if not port_text.isdigit() or not 1024 <= int(port_text) <= 65535:
            raise InvalidExtensionConfigError(f"{PORT_ENV} must be a port from 1024 to 65535, got {port_text!r}")
        ttl_text = environ.get(CACHE_SECONDS_ENV, str(DEFAULT_CACHE_SECONDS)).strip()
        try:
            ttl = float(ttl_text)
        except ValueError:
            ttl = math.nan
        if not 0 <= ttl <= MAX_CACHE_SECONDS:
            raise InvalidExtensionConfigError(f"{CACHE_SECONDS_ENV} must be a number of seconds from 0 to {MAX_CACHE_SECONDS:g}, got {ttl_text!r}")
        return cls(table_name=table, callees=decode_callees(environ.get(CALLEES_ENV)), port=int(port_text), cache_seconds=ttl)
