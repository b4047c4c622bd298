"""``python -m tools.snapshot`` (``make snapshot``): write the sample stack's template snapshot again, after a change meant to be."""

from __future__ import annotations

import sys

from tools.snapshot.template import SNAPSHOT, snapshot_text


def main() -> int:
    text = snapshot_text()
    before = SNAPSHOT.read_text() if SNAPSHOT.exists() else None
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(text)
    said = "unchanged" if before == text else "written"
    print(f"{SNAPSHOT.relative_to(SNAPSHOT.parents[3])} {said}: review `git diff` and commit it with the change it records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
