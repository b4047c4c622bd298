"""The caller's side: call a callee through the breaker, get its answer or a typed exception.

``from circuit_breaker.client import CircuitBreakerClient, CircuitOpenError``. Lives here: the client and its
results (:mod:`.calls`), its memory of open circuits (:mod:`.open_circuits`) and its reader of the extension
(:mod:`.extension_reader`); the errors it raises are the workflow's (:mod:`circuit_breaker.core.errors`),
re-exported. May import :mod:`circuit_breaker.core`, :mod:`circuit_breaker.aws` and boto3.
"""

from circuit_breaker.client.calls import (
    AsyncCall,
    CallResult,
    CircuitBreakerClient,
    FallbackAnswer,
    depth_from_context,
    idempotency_key_from_context,
)
from circuit_breaker.client.extension_reader import ExtensionReader
from circuit_breaker.client.open_circuits import OpenCircuitCache
from circuit_breaker.core.errors import (
    BreakerError,
    CalleeFailedError,
    CircuitIsolatedError,
    CircuitOpenError,
    ExecutionFailedError,
    InvalidInputError,
    RecursionLimitExceededError,
    StoreUnavailableError,
    UnknownCalleeError,
)

__all__ = [
    "AsyncCall",
    "BreakerError",
    "CallResult",
    "CalleeFailedError",
    "CircuitBreakerClient",
    "CircuitIsolatedError",
    "CircuitOpenError",
    "ExecutionFailedError",
    "ExtensionReader",
    "FallbackAnswer",
    "InvalidInputError",
    "OpenCircuitCache",
    "RecursionLimitExceededError",
    "StoreUnavailableError",
    "UnknownCalleeError",
    "depth_from_context",
    "idempotency_key_from_context",
]
