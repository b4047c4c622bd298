"""Kept so that an import path the README documented before 0.2's layout keeps working: the code is in
:mod:`circuit_breaker.operate.redrive`."""

from circuit_breaker.operate.redrive import RedriveError, RedriveInterrupted, RedriveReport, Redriver  # noqa: F401

__all__ = ["RedriveError", "RedriveInterrupted", "RedriveReport", "Redriver"]
