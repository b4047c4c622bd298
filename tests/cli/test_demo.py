"""``breaker demo`` (what ``make demo`` runs), end to end in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_demo_narrates_open_fast_fail_probe_closed() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment["COLUMNS"] = "200"
    run = subprocess.run(
        [sys.executable, "-m", "circuit_breaker", "demo", "--break-seconds", "2"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
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
    assert "flaky invoked  4 time(s)" in out  # the first failing call: four attempts (threshold 5)
    assert '"CircuitStatus": "OPEN"' in out
    events = out[out.find("Transition events published"):]
    for transition in ("CLOSED → OPEN", "OPEN → HALF_OPEN", "HALF_OPEN → CLOSED", "CLOSED → ISOLATED", "ISOLATED → CLOSED"):
        assert transition in events
