"""``python -m tools.parity.ratchet REPORT [--at-least N]``: parity may never regress.

Prints the core match count of a report such as ``docs/parity.json``; with ``--at-least N`` exits 1 (saying so) when
that count is below ``N`` (the count committed before the run). ``.ci/run`` uses it after ``make parity``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.parity.report import ReportError, Tally, read_json


def core_matches(report: Path) -> int:
    """How many core recordings the report says match."""
    return Tally.of(read_json(report)).matched.get("core", 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.parity.ratchet", description=__doc__)
    parser.add_argument("report", type=Path)
    parser.add_argument("--at-least", type=int, default=None, help="fail when the core count is below this")
    args = parser.parse_args(argv)
    try:
        count = core_matches(args.report)
    except ReportError as error:
        print(f"parity ratchet: {error}", file=sys.stderr)
        return 2
    if args.at_least is None:
        print(count)
        return 0
    if count < args.at_least:
        print(f"parity ratchet: core parity dropped to {count} (committed: {args.at_least}); fix the engine or explain", file=sys.stderr)
        return 1
    print(f"parity ratchet: core {count} >= {args.at_least}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
