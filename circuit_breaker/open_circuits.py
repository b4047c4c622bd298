"""Kept so that an import path the README documented before 0.2's layout keeps working: the code is in
:mod:`circuit_breaker.client.open_circuits`."""

from circuit_breaker.client.open_circuits import OpenCircuitCache  # noqa: F401

__all__ = ["OpenCircuitCache"]
