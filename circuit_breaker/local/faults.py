"""Faults the local engine can inject into AWS calls, to test how the workflow survives them.

A :class:`Fault` makes matching requests fail with an AWS error (``ProvisionedThroughputExceededException``
on ``GetItem``, say) instead of reaching moto, for a number of requests or until cleared. The engine
checks every request against :meth:`FaultInjector.match` (see ``circuit_breaker.local.patches.fault_injection``). ``service`` is the
boto3 service name (``dynamodb``, ``events``, ``lambda``...), ``action`` the API operation (``GetItem``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable


@dataclass
class Fault:
    """Fail ``action`` requests of ``service`` with ``error_code`` (HTTP ``status``), ``times`` times or forever."""

    service: str
    action: str
    error_code: str
    status: int = 400
    message: str = "injected by the local engine"
    times: int | None = None
    hits: int = 0
    before: Callable[[], None] | None = None
    """Instead of failing, run this before the request proceeds (to interleave a change deterministically)."""
    skip: int = 0
    """Let this many matching requests through untouched first."""
    seen: int = 0

    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class FaultInjector:
    """The engine's active faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        service: str,
        action: str,
        error_code: str,
        *,
        status: int = 400,
        times: int | None = None,
        skip: int = 0,
        message: str = "injected by the local engine",
    ) -> Fault:
        """Make ``times`` (or all) ``service`` ``action`` requests fail with ``error_code``, after letting ``skip`` through."""
        if (times is not None and times < 1) or skip < 0:
            raise ValueError(f"times must be 1 or more (or None for every request) and skip 0 or more, got {times}, {skip}")
        fault = Fault(
            service=service.lower(), action=action, error_code=error_code, status=status, message=message, times=times, skip=skip
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def run_before(
        self, service: str, action: str, callback: Callable[[], None], *, times: int = 1, skip: int = 0
    ) -> Fault:
        """Run ``callback`` just before ``times`` ``service`` ``action`` requests (after ``skip`` others), which then proceed.

        The callback runs in the requesting thread; it may call the engine's services itself.
        """
        if times < 1 or skip < 0:
            raise ValueError(f"times must be 1 or more and skip 0 or more, got times={times}, skip={skip}")
        fault = Fault(service=service.lower(), action=action, error_code="", times=times, before=callback, skip=skip)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def match(self, service: str, action: str) -> Fault | None:
        """The fault that answers this request, if any (and count the hit)."""
        with self._lock:
            for fault in self._faults:
                if fault.service == service.lower() and fault.action == action and not fault.exhausted():
                    fault.seen += 1
                    if fault.seen <= fault.skip:
                        continue
                    fault.hits += 1
                    return fault
        return None
