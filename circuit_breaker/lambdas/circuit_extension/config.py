"""The extension's configuration, read once from the function's environment (set by ``grant_read_circuits``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from circuit_breaker.core.extension_api import (
    CALLEES_ENV,
    DEFAULT_CACHE_SECONDS,
    DEFAULT_PORT,
    TABLE_ENV,
    CalleeEntry,
    ExtensionSettings,
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
        settings = ExtensionSettings.from_environment(environ)
        return cls(table_name=table, callees=decode_callees(environ.get(CALLEES_ENV)), port=settings.port, cache_seconds=settings.cache_seconds)
