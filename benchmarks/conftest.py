"""Benchmarks share the tests' synthesized assembly and local engine (``make bench``)."""

from tests.conftest import assembly, breaker, engine, template  # noqa: F401  (fixtures)
