"""``python -m tools.parity``: replay every AWS recording in scope and report parity.

Exit status: 0 after a run (whatever the figures), 2 when the recordings are missing or unreadable.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools.parity.recordings import ParityData, ParityDataMissingError, ScopeError
from tools.parity.report import Tally, to_json, to_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.parity", description=__doc__)
    parser.add_argument("--data", help="the localstack-sfn folder (default: $PARITY_DATA or ../shared/parity/localstack-sfn)")
    parser.add_argument("--out", default="docs", help="where parity.json and parity.md go (default: docs)")
    parser.add_argument("-k", "--select", default="", help="only keys containing this text (no reports written)")
    args = parser.parse_args(argv)
    try:
        data = ParityData.locate(args.data)
    except (ParityDataMissingError, ScopeError) as error:
        print(f"parity: {error}", file=sys.stderr)
        return 2

    from circuit_breaker.local.engine import EngineConfig, MotoEngine
    from tools.parity.runner import Runner, judge

    started = time.monotonic()
    verdicts = []
    with MotoEngine(EngineConfig(wait_scale=0)) as engine:
        runner = Runner(engine, data)
        for recording in data.recordings():
            if args.select and args.select not in recording.key:
                continue
            verdict = judge(runner, recording)
            verdicts.append(verdict)
            if verdict.verdict != "match":
                print(f"{verdict.verdict:9} {recording.key.split('::', 1)[-1]}: {verdict.reason}")
    elapsed = time.monotonic() - started
    if not args.select:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "parity.json").write_text(to_json(verdicts))
        (out / "parity.md").write_text(to_markdown(verdicts, elapsed))
    print(f"parity run took {elapsed:.0f} s")
    print(Tally.of(verdicts).line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
