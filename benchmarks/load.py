"""A steady load of concurrent callers, and what happened second by second.

Each caller calls, waits for the answer, then waits for its next tick (closed loop: a slow call
delays that caller's next one, as a real client's would). A sampler reads the callee's invocation
counter four times a second, so callee load is measured where it happens, not inferred from calls.
Python's garbage-collection pauses are recorded too: a second in which the engine was stopped by the
collector is told apart from a second in which the workflow held callers back.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

#: What a call can end in, as seen by the caller.
SUCCESS, SHORT_CIRCUIT, FAILURE = "success", "short-circuited", "failure"


@dataclass(frozen=True)
class CallRecord:
    started: float
    ended: float
    outcome: str


@dataclass
class LoadRun:
    """Everything one run recorded; times are seconds since the run started."""

    name: str
    outage: tuple[float, float]
    duration: float
    calls: list[CallRecord] = field(default_factory=list)
    invocation_samples: list[tuple[float, int]] = field(default_factory=list)
    collector_pauses: list[tuple[float, float, int]] = field(default_factory=list)
    """(start, seconds, generation) of each garbage collection during the run."""

    def per_second(self) -> list[dict[str, int]]:
        """Calls made, callee invocations, short-circuited calls and successes in each second."""
        seconds = int(self.duration)
        rows = [
            {"second": s, "calls": 0, "invocations": 0, "short_circuited": 0, "successes": 0, "failures": 0, "gc_pause_ms": 0}
            for s in range(seconds)
        ]
        for call in self.calls:
            if int(call.started) < seconds:
                rows[int(call.started)]["calls"] += 1
            if int(call.ended) < seconds:
                key = {SUCCESS: "successes", SHORT_CIRCUIT: "short_circuited", FAILURE: "failures"}[call.outcome]
                rows[int(call.ended)][key] += 1
        previous = self.invocation_samples[0][1] if self.invocation_samples else 0
        for moment, count in self.invocation_samples:
            if int(moment) < seconds:
                rows[int(moment)]["invocations"] += count - previous
            previous = count
        for started, seconds_paused, _ in self.collector_pauses:
            if int(started) < seconds:
                rows[int(started)]["gc_pause_ms"] += round(seconds_paused * 1000)
        return rows

    def longest_collector_pause(self) -> float:
        """The longest garbage-collection pause of the run, in seconds."""
        return max((seconds for _, seconds, _ in self.collector_pauses), default=0.0)

    def invocations_between(self, start: float, end: float) -> int:
        """Callee invocations from ``start`` to ``end`` (from the samples around them)."""
        if not self.invocation_samples:
            return 0
        at_start = [count for moment, count in self.invocation_samples if moment <= start] or [self.invocation_samples[0][1]]
        at_end = [count for moment, count in self.invocation_samples if moment < end]
        return at_end[-1] - at_start[-1] if at_end else 0

    def time_to_open(self) -> float | None:
        """Seconds from the outage's start to the first short-circuited call."""
        short = [c.ended for c in self.calls if c.outcome == SHORT_CIRCUIT and c.ended >= self.outage[0]]
        return min(short) - self.outage[0] if short else None

    def time_to_recover(self) -> float | None:
        """Seconds from the healing until the first second in which at least 90% of answered calls succeed."""
        for row in self.per_second():
            if row["second"] < self.outage[1]:
                continue
            answered = row["successes"] + row["short_circuited"] + row["failures"]
            if answered and row["successes"] >= 0.9 * answered:
                return row["second"] - self.outage[1]
        return None


@contextmanager
def collector_pauses(start: float, into: list[tuple[float, float, int]]) -> Iterator[None]:
    """Record every garbage collection while the block runs: (start - ``start``, seconds, generation)."""
    began: dict[str, float] = {}

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began["at"] = time.time()
        elif "at" in began:
            into.append((began["at"] - start, time.time() - began["at"], info["generation"]))

    gc.callbacks.append(record)
    try:
        yield
    finally:
        gc.callbacks.remove(record)


def run_load(
    name: str,
    call: Callable[[float], str],
    invocations: Callable[[], int],
    *,
    callers: int = 20,
    period: float = 1.0,
    duration: float = 90.0,
    outage: tuple[float, float] = (10.0, 40.0),
) -> LoadRun:
    """Run ``callers`` threads calling ``call(run_start)`` every ``period`` seconds for ``duration`` seconds."""
    start = time.time()
    run = LoadRun(name=name, outage=outage, duration=duration)
    lock = threading.Lock()
    stop = threading.Event()

    def caller(offset: float) -> None:
        next_tick = start + offset
        while not stop.is_set():
            stop.wait(max(0.0, next_tick - time.time()))
            if stop.is_set() or time.time() - start >= duration:
                return
            began = time.time()
            outcome = call(start)
            ended = time.time()
            with lock:
                run.calls.append(CallRecord(began - start, ended - start, outcome))
            next_tick = max(next_tick + period, ended)

    def sampler() -> None:
        while not stop.is_set():
            with lock:
                run.invocation_samples.append((time.time() - start, invocations()))
            stop.wait(0.25)

    threads = [threading.Thread(target=caller, args=(i * period / callers,), daemon=True) for i in range(callers)]
    threads.append(threading.Thread(target=sampler, daemon=True))
    with collector_pauses(start, run.collector_pauses):
        for thread in threads:
            thread.start()
        time.sleep(duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return run
