"""The AWS recordings the parity check replays: where they are, which are in scope, what each holds.

``PARITY_DATA`` (default ``../shared/parity/localstack-sfn``, relative to the working directory) holds
LocalStack's snapshot files (``../shared/parity/localstack-sfn/v2/**.snapshot.json``) and templates;
``../shared/parity/SCOPE.json`` beside it names
the files (and optionally the tests of a file) that count, in two sets, ``core`` and ``wider``.
A snapshot key reads ``<test file>::<class>::<test>[<params>]``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

DEFAULT_DATA = Path("../shared/parity/localstack-sfn")
AREAS = ("core", "wider")

_KEY = re.compile(r"^(?P<file>[^:]+)::(?P<cls>[^:]+)::(?P<test>[^\[]+)(?:\[(?P<params>.*)\])?$")


class ParityDataMissingError(FileNotFoundError):
    """The recordings folder or its scope file is not there."""


class ScopeError(ValueError):
    """The scope file is not the document the harness expects."""


@dataclass(frozen=True)
class Recording:
    """One snapshot key in scope: what AWS recorded for one execution (or one API exchange)."""

    key: str
    area: str
    """``core`` or ``wider``."""
    snapshot_file: str
    """The snapshot file, relative to the recordings' ``v2`` folder (e.g. the assign tests' base snapshot)."""
    test_class: str
    test: str
    params: str | None
    content: Any
    """``recorded-content``; whatever the file held (checked by :attr:`problem`)."""
    problem: str | None = None
    """Why the recording cannot be replayed (malformed), or ``None``."""
    recorded_on: date | None = None
    """The day AWS recorded it (the snapshot's ``recorded-date``), when given."""

    @property
    def group(self) -> str:
        """The table a report lists it under: the snapshot file's folder and name (such as the assign tests' base file, without its suffix)."""
        return self.snapshot_file.removesuffix(".snapshot.json")

    @property
    def test_id(self) -> str:
        """``Class::test`` (the recipe registry's key)."""
        return f"{self.test_class}::{self.test}"


@dataclass(frozen=True)
class ParityData:
    """The recordings folder and its scope."""

    root: Path
    scope: dict[str, dict[str, list[str] | None]] = field(repr=False)

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @classmethod
    def locate(cls, path: str | os.PathLike[str] | None = None) -> "ParityData":
        """Find the data (``path``, else ``$PARITY_DATA``, else the default) and read its scope."""
        root = Path(path or os.environ.get("PARITY_DATA") or DEFAULT_DATA)
        if not (root / "v2").is_dir():
            raise ParityDataMissingError(
                f"no AWS recordings at {root} (expected its v2/ folder); set PARITY_DATA to the localstack-sfn folder"
            )
        scope_file = root.parent / "SCOPE.json"
        if not scope_file.is_file():
            raise ParityDataMissingError(f"no SCOPE.json beside {root} (looked for {scope_file})")
        return cls(root, load_scope(scope_file))

    def recordings(self) -> Iterator[Recording]:
        """Every snapshot key in scope, core first; a file that cannot be read yields one malformed entry."""
        for area in AREAS:
            for snapshot_file, tests in self.scope.get(area, {}).items():
                yield from _read_snapshot(self.root / "v2" / snapshot_file, snapshot_file, area, tests)


def load_scope(path: Path) -> dict[str, dict[str, list[str] | None]]:
    """Read the scope file: ``{"core": {file: [tests] | null}, "wider": {...}}``."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ScopeError(f"{path} is not readable JSON: {error}") from None
    scope: dict[str, dict[str, list[str] | None]] = {}
    for area in AREAS:
        files = document.get(area)
        if not isinstance(files, dict):
            raise ScopeError(f"{path}: '{area}' must map snapshot files to test lists (or null)")
        for name, tests in files.items():
            if tests is not None and not (isinstance(tests, list) and all(isinstance(t, str) for t in tests)):
                raise ScopeError(f"{path}: {area}/{name} must list test names or be null")
        scope[area] = files
    return scope


def parse_key(key: str) -> tuple[str, str, str, str | None]:
    """``file::Class::test[params]`` -> (file, class, test, params)."""
    match = _KEY.match(key)
    if not match:
        raise ValueError(f"not a snapshot key: {key!r}")
    return match["file"], match["cls"], match["test"], match["params"]


def _problem(content: Any) -> str | None:
    if not isinstance(content, dict):
        return "recorded-content is not an object"
    if not content:
        return "the recording holds nothing (AWS recorded no response for this test)"
    history = content.get("get_execution_history")
    if history is not None and not (isinstance(history, dict) and isinstance(history.get("events"), list)):
        return "get_execution_history has no list of events"
    return None


def _recorded_on(text: Any) -> date | None:
    """``"24-10-2023, 17:18:16"`` (the snapshot library's day-month-year) -> that day."""
    try:
        return datetime.strptime(str(text).split(",")[0].strip(), "%d-%m-%Y").date()
    except ValueError:
        return None


def _read_snapshot(path: Path, snapshot_file: str, area: str, tests: list[str] | None) -> Iterator[Recording]:
    try:
        document = json.loads(path.read_text())
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        yield Recording(f"{snapshot_file}::*", area, snapshot_file, "*", "*", None, None, f"unreadable snapshot file: {error}")
        return
    for key, entry in document.items():
        try:
            _, test_class, test, params = parse_key(key)
        except ValueError as error:
            yield Recording(key, area, snapshot_file, "?", "?", None, None, str(error))
            continue
        if tests is not None and test not in tests:
            continue
        content = entry.get("recorded-content") if isinstance(entry, dict) else None
        recorded_on = _recorded_on(entry.get("recorded-date")) if isinstance(entry, dict) else None
        yield Recording(key, area, snapshot_file, test_class, test, params, content, _problem(content), recorded_on)
