"""Every wait of an execution (``Retry`` backoff, ``Wait`` states) on the engine's clock instead of a real sleep."""

from __future__ import annotations

import threading
from typing import Any

from circuit_breaker.local.patches import active


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


def retrier_eval_body(self: Any, env: Any) -> None:
    """Replaces ``RetrierDecl._eval_body``: moto's retrier, with the wait handed to the :class:`EngineClock`."""
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome

    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    nominal = env.stack[-1]
    self.jitter_strategy.eval(env=env)
    seconds = env.stack.pop()
    context = env.states.context_object.context_object_data
    active.current().clock.wait(context["Execution"]["Id"], (context.get("State") or {}).get("Name", ""), nominal, seconds)
    env.stack.append(RetrierOutcome.Executed)


#: The longest delay a Wait state accepts, in seconds (a signed 32-bit count): AWS fails a Wait for 24,856
#: days with "Wait state delay is too long." and waits 24,855 days (recorded:
#: ../shared/parity/localstack-sfn/v2/base/test_wait.snapshot.json, ``test_timestamp_too_far_in_future_boundary``).
MAX_WAIT_SECONDS = 2**31 - 1


def _delay_too_long(env: Any) -> Exception:
    from circuit_breaker.local.patches.evaluation_failures import states_failure

    return states_failure(env, "StatesRuntime", "ExecutionFailed", "Wait state delay is too long.")


def wait_state_interval(self: Any, env: Any, wait_seconds: int) -> None:
    """Replaces ``WaitFunction._wait_interval``: a ``Wait`` state waits on the :class:`EngineClock` (up to AWS's limit)."""
    if wait_seconds > MAX_WAIT_SECONDS:
        raise _delay_too_long(env)
    context = env.states.context_object.context_object_data
    active.current().clock.wait(
        context["Execution"]["Id"],
        (context.get("State") or {}).get("Name", ""),
        wait_seconds,
        wait_seconds,
        kind="wait",
        interrupt=env.program_state_event,
    )
