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
    # The trip rules side by side (benchmarks/test_trip_rules.py): the default count rule, and a rate rule.
    "noisy-count": {"sample_function": "flaky"},
    "noisy-rate": {"sample_function": "flaky", "failure_rate_threshold": 0.5, "minimum_calls": 10, "failure_window_seconds": 10},
    # A callee answering in 8 s of its 10-s timeout, without and with slow_call_seconds.
    "slow-plain": {"sample_function": "flaky"},
    "slow-counted": {"sample_function": "flaky", "slow_call_seconds": 5},
}
#: The callees the benchmarks watch the metrics of (a log group takes 100 metric filters).
MONITORED = ["echo", "flaky", "flaky-strict", "echo-closed", *BENCHMARK_CALLEES]


def benchmark_context() -> dict[str, Any]:
    context = session_context()
    context["circuit_breaker"]["callees"].update(BENCHMARK_CALLEES)
    context["circuit_breaker"]["monitored_callees"] = MONITORED
    return context


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(PROJECT_DIR, tmp_path_factory.mktemp("cdk.out"), benchmark_context())
