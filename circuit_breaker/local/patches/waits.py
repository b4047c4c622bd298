"""Every wait of an execution (``Retry`` backoff, ``Wait`` states) on the engine's clock instead of a real sleep."""

from __future__ import annotations

from typing import Any

from circuit_breaker.local.patches import active


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
