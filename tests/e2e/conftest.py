"""The end-to-end suite's fixtures: the target the driver deployed, and a circuit reset around each test that uses one.

The suite runs only through the driver (``make e2e``, ``make e2e-aws``), with ``--confcutdir tests/e2e`` so that
``tests/conftest.py`` (the embedded engine's fixtures) is never loaded. A test marked ``aws_only`` needs what
only AWS does (an extension inside real Lambda, schedules that fire, metric filters that emit): on the local
engine it is reported as skipped, with the marker's reason.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from tests.e2e.target import Target, TargetMissingError


def pytest_collection_finish(session: pytest.Session) -> None:
    """Selecting e2e tests without a target is a usage error, said before anything runs."""
    if any(item.get_closest_marker("e2e") for item in session.items):
        try:
            Target.from_environment()
        except TargetMissingError as error:
            raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def target() -> Target:
    return Target.from_environment()


@pytest.fixture(autouse=True)
def _aws_only(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("aws_only")
    if marker is not None and not Target.from_environment().on_aws:
        pytest.skip(f"AWS only: {marker.kwargs.get('reason') or marker.args[0]}")


@pytest.fixture
def fresh(target: Target) -> Iterator[Callable[[str], str]]:
    """``fresh(callee)``: reset that callee's circuit with the CLI now, and again after the test (whatever its end)."""
    used: list[str] = []

    def fresh_circuit(callee: str) -> str:
        target.reset(callee)
        used.append(callee)
        return callee

    yield fresh_circuit
    for callee in used:
        target.reset(callee)
