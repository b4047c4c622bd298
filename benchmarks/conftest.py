"""Benchmarks share the tests' engine fixtures, on an assembly with the benchmarks' own callees (``make bench``).

``payment`` is the sample callee ``flaky`` registered the way a payment service would be: a declined
card (``CardDeclined``) is an answer, not an outage (issue 9's *business errors*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from circuit_breaker.local.deployer import synthesize
from tests.conftest import PROJECT_DIR, breaker, engine, session_context, template  # noqa: F401  (fixtures)

#: Callees the benchmarks register on top of the tests' (cdk.json context form).
BENCHMARK_CALLEES: dict[str, dict[str, Any]] = {
    "payment": {"sample_function": "flaky", "ignored_errors": ["CardDeclined"]},
}


def benchmark_context() -> dict[str, Any]:
    context = session_context()
    context["circuit_breaker"]["callees"].update(BENCHMARK_CALLEES)
    return context


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(PROJECT_DIR, tmp_path_factory.mktemp("cdk.out"), benchmark_context())
