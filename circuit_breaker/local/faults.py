"""Faults the local engine can inject into AWS calls, to test how the workflow survives them.

A :class:`Fault` makes matching requests fail with an AWS error (``ProvisionedThroughputExceededException``
on ``GetItem``, say) instead of reaching moto, for a number of requests or until cleared. The engine
checks every request against :meth:`FaultInjector.match` (see ``circuit_breaker.local.patches.fault_injection``). ``service`` is the
boto3 service name (``dynamodb``, ``events``, ``lambda``...), ``action`` the API operation (``GetItem``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


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
        message: str = "injected by the local engine",
    ) -> Fault:
        """Make the next ``times`` (or all) ``service`` ``action`` requests fail with ``error_code``."""
        if times is not None and times < 1:
            raise ValueError(f"times must be 1 or more (or None for every request), got {times}")
        fault = Fault(service=service.lower(), action=action, error_code=error_code, status=status, message=message, times=times)
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
                    fault.hits += 1
                    return fault
        return None
