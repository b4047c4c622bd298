"""Write benchmark figures into ``docs/performance.md``, one marked section per benchmark.

Each benchmark owns the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; running one
benchmark replaces its section and leaves the others as they were.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADER = "# Performance\n\nFigures measured by `make bench` on the machine named in each section.\n"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of the performance document."""
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    text = DOCUMENT.read_text() if DOCUMENT.exists() else HEADER
    block = f"<!-- {name}:start -->\n{markdown.strip()}\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOCUMENT.write_text(text)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 for the median, 0.95 for p95)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def machine_load() -> str:
    """The 1-minute load average (the machine is shared: timings mean little without it)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"
