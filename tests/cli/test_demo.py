"""``breaker demo`` (what ``make demo`` runs), end to end in its own process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_demo_narrates_open_fast_fail_probe_closed() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment["COLUMNS"] = "80"  # a common terminal: the state machine's ARN is longer than a line
    run = subprocess.run(
        [sys.executable, "-m", "circuit_breaker", "demo", "--break-seconds", "2"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    raw = run.stdout
    # the ARN printed whole on its line, wider than the terminal: a copy and paste gets all of it
    deployed = [line for line in raw.splitlines() if line.startswith("deployed: ")]
    assert len(deployed) == 1 and re.fullmatch(r"deployed: arn:aws:states:[\w-]+:\d{12}:stateMachine:[\w-]+", deployed[0]), deployed
    assert len(deployed[0]) > 80
    # the rest read as one text: panels wrap at 80 columns
    out = re.sub(r"[\s│]+", " ", raw)
    # each failing call titled by what it did: the first retried (four attempts, threshold 5), the second
    # opening the circuit on its first attempt, so not retried
    assert "2.1 flaky fails 4 times, 3 retries with backoff: 4 of 5 failures" in out
    assert "2.2 flaky fails once: failure 5 of 5 opens the circuit, no retry" in out
    assert "retried with exponential backoff" not in out
    # the scenario's order, with what each step showed
    steps = [
        "1. A healthy call goes straight through",
        "this failure opened the circuit",
        "CircuitBreaker.CircuitOpen",
        "Take probe lease → Call probe → Enough probes? → Close circuit",
        "6. Isolated by an operator",
        "7. Reset: echo answers again",
        "Transition events published",
        "demo complete: open → fast fail → probe → closed",
    ]
    positions = [out.find(step) for step in steps]
    assert all(p >= 0 for p in positions), [s for s, p in zip(steps, positions) if p < 0]
    assert positions == sorted(positions)
    assert "flaky invoked 4 time(s)" in out  # the first failing call: four attempts (threshold 5)
    assert '"CircuitStatus": "OPEN"' in out
    events = out[out.find("Transition events published"):]
    for transition in ("CLOSED → OPEN", "OPEN → HALF_OPEN", "HALF_OPEN → CLOSED", "CLOSED → ISOLATED", "ISOLATED → CLOSED"):
        assert transition in events
