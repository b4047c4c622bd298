"""What the installed patches act on: the running engine's Lambda runtime, clock, fault injector and item throughput.

The patches are installed once per process (moto's classes are process-wide); each engine that starts
swaps in its own runtime, clock, faults and throughput limits here, and the patched code reads them at call time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from circuit_breaker.local.faults import FaultInjector
    from circuit_breaker.local.lambda_runtime import LambdaRuntime
    from circuit_breaker.local.clock import EngineClock
    from circuit_breaker.local.throughput import ItemThroughput


class PatchesNotInstalledError(RuntimeError):
    """Patched moto code ran before :func:`circuit_breaker.local.patches.apply` installed an engine's parts."""


@dataclass
class Installed:
    """The engine parts the patches use, and the moto attributes they replaced (for tests and checks)."""

    runtime: "LambdaRuntime"
    clock: "EngineClock"
    faults: "FaultInjector"
    originals: dict[str, Any]
    throughput: "ItemThroughput"


_installed: Installed | None = None
lock = threading.Lock()


def current() -> Installed:
    """The installed parts; raises :class:`PatchesNotInstalledError` when no engine installed them."""
    if _installed is None:
        raise PatchesNotInstalledError("the local engine's moto patches are not installed: start a LocalEngine first")
    return _installed


def installed() -> Installed | None:
    """The installed parts, or ``None`` before the first engine starts."""
    return _installed


def set_installed(value: Installed) -> None:
    global _installed
    _installed = value
