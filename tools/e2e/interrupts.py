"""Ctrl-C and SIGTERM, for the e2e driver: both unwind the run, and neither cuts its clean-up short.

While a run is in progress, SIGINT and SIGTERM raise :class:`KeyboardInterrupt` (remembering which signal it
was), so the ``finally`` that stops the local engine or destroys the stack always runs; during that clean-up
they are only acknowledged, since an abandoned stack keeps costing money.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Interrupts:
    """The signals received while the run went on."""

    received: list[int] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """128 + the first signal's number, as a shell reports a command a signal ended (130 for Ctrl-C)."""
        return 128 + self.received[0] if self.received else 130


@contextmanager
def interruptible() -> Iterator[Interrupts]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread for the duration."""
    interrupts = Interrupts()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        interrupts.received.append(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in SIGNALS}
    try:
        yield interrupts
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def shielded(what: str, echo: IO[str] = sys.stderr) -> Iterator[None]:
    """Run a clean-up to its end: a signal meanwhile is acknowledged, not obeyed."""

    def acknowledge(signum: int, frame: FrameType | None) -> None:
        print(f"e2e: {signal.Signals(signum).name} received while {what}: finishing the clean-up first", file=echo, flush=True)

    previous = {s: signal.signal(s, acknowledge) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
