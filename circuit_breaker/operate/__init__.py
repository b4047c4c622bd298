"""Operators' side: circuits (status, isolate, reset), executions and their history, redrive, health-check runs.

Every command of ``breaker`` but ``call`` is a thin layer over these. Lives here: :mod:`.circuits`,
:mod:`.executions` and :mod:`.history` (executions from the log group on AWS, from the engine locally),
:mod:`.redrive` (the dead-letter queue), :mod:`.health_runs`, and their one root error (:mod:`.errors`). May
import :mod:`circuit_breaker.core`, :mod:`circuit_breaker.aws`, :mod:`circuit_breaker.client` and boto3.
"""

from circuit_breaker.operate.circuits import Circuits, CircuitView
from circuit_breaker.operate.errors import OperatorError
from circuit_breaker.operate.redrive import Redriver

__all__ = ["CircuitView", "Circuits", "OperatorError", "Redriver"]
