"""The reusable CDK construct: ``from circuit_breaker.cdk import CircuitBreaker, CircuitBreakerProps, Callee``.

Needs the ``cdk`` extra (``pip install 'serverless-circuit-breaker[cdk]'``): aws-cdk-lib and constructs.
The state machine definition ships inside the package (``circuit_breaker/statemachine/`` in the wheel,
``statemachine/`` in the repository), so the construct synthesizes wherever it is installed.
"""

from circuit_breaker.cdk.construct import (
    Callee,
    CircuitBreaker,
    CircuitBreakerProps,
    Fallback,
    invoked_function_arns,
    metric_ids,
    registry_entry,
    registry_substitution,
    retry_entry,
)
from circuit_breaker.settings import CalleeSettings, InvalidSettingsError, JitterStrategy, OnStoreError, RetryPolicy

__all__ = [
    "Callee",
    "CalleeSettings",
    "CircuitBreaker",
    "CircuitBreakerProps",
    "Fallback",
    "InvalidSettingsError",
    "JitterStrategy",
    "OnStoreError",
    "RetryPolicy",
    "invoked_function_arns",
    "metric_ids",
    "registry_entry",
    "registry_substitution",
    "retry_entry",
]
