"""The engine's clock: where every wait of an execution goes (``Retry`` backoff, ``Wait`` states).

Recorded per execution and slept for ``scale`` times as long, so tests run waits instantly
(``EngineConfig(wait_scale=0)``) and benchmarks and the demo wait as AWS would; a :class:`WaitGate` holds one
execution at a wait so a test can change the world meanwhile. The patches in ``patches/waits.py`` hand moto's
waits here.
"""

from __future__ import annotations

import threading
from typing import Any


class WaitGate:
    """Holds the first execution that waits in ``state`` until :meth:`release` (tests change the world meanwhile)."""

    def __init__(self, state: str, timeout: float = 30.0) -> None:
        self.state = state
        self.timeout = timeout
        self.execution_arn: str | None = None
        self.reached = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        """Let the held execution go on."""
        self._released.set()

    def hold(self, execution_arn: str) -> None:
        self.execution_arn = execution_arn
        self.reached.set()
        self._released.wait(self.timeout)


class EngineClock:
    """Where an execution's waits go: recorded per execution, slept for ``scale`` times as long.

    Both kinds of wait come here: a retrier's backoff (``kind="retry"``) and a ``Wait`` state
    (``kind="wait"``). ``scale=0`` makes them immediate without changing the definition (tests);
    ``scale=1`` waits as AWS would (demo, benchmarks).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._lock = threading.Lock()
        self._waits: list[dict[str, Any]] = []
        self._gates: list[WaitGate] = []

    def gate(self, state: str, timeout: float = 30.0) -> WaitGate:
        """Hold the next execution that waits in ``state`` (before its wait) until the gate is released.

        Deterministic interleavings without sleeps: a test opens a gate on ``Back off``, waits for
        ``gate.reached``, changes the circuit, then releases the execution.
        """
        gate = WaitGate(state, timeout)
        with self._lock:
            self._gates.append(gate)
        return gate

    def wait(
        self, execution_arn: str, state: str, nominal: float, seconds: float, kind: str = "retry", interrupt: Any = None
    ) -> None:
        """Record a wait (``nominal`` is a retrier's backoff before jitter) and sleep for its scaled length.

        ``interrupt`` (a ``threading.Event``) ends the sleep early, as stopping an execution does.
        """
        with self._lock:
            self._waits.append(
                {"execution": execution_arn, "state": state, "nominal": nominal, "seconds": seconds, "kind": kind}
            )
            gate = next((g for g in self._gates if g.state == state), None)
            if gate is not None:
                self._gates.remove(gate)
        if gate is not None:
            gate.hold(execution_arn)
        if seconds * self.scale > 0:
            (interrupt or threading.Event()).wait(seconds * self.scale)

    def waits(self, execution_arn: str | None = None, kind: str | None = "retry") -> list[dict[str, Any]]:
        """Recorded waits of one execution (or of all), of one kind (``None``: every kind)."""
        with self._lock:
            return [
                dict(w)
                for w in self._waits
                if (execution_arn is None or w["execution"] == execution_arn) and (kind is None or w["kind"] == kind)
            ]
