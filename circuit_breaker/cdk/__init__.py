"""The reusable CDK construct: ``from circuit_breaker.cdk import CircuitBreaker, CircuitBreakerProps, Callee``.

Lives here: the construct (:mod:`.construct`) and its properties (:mod:`.props`), the registry it bakes into the
definition (:mod:`.registry`), the files it deploys (:mod:`.assets`), metrics and alarms (:mod:`.monitoring`),
health checks (:mod:`.health_checks`), the extension's layer and grant (:mod:`.extension`). May import
:mod:`circuit_breaker.core` and aws-cdk-lib, nothing else of the package.

Needs the ``cdk`` extra (``pip install 'serverless-circuit-breaker[cdk]'``): aws-cdk-lib and constructs.
The state machine definition ships inside the package (``circuit_breaker/statemachine/`` in the wheel,
``statemachine/`` in the repository), so the construct synthesizes wherever it is installed.
"""

from circuit_breaker.cdk.node import use_supported_node

use_supported_node()  # before aws-cdk-lib is imported: jsii needs Node.js 22 or 24

from circuit_breaker.cdk.construct import CircuitBreaker  # noqa: E402
from circuit_breaker.cdk.props import Callee, CircuitBreakerProps, Fallback
from circuit_breaker.cdk.registry import invoked_function_arns, metric_ids, registry_entry, registry_substitution, retry_entry
from circuit_breaker.core.settings import CalleeSettings, HealthCheck, InvalidSettingsError, JitterStrategy, OnStoreError, RetryPolicy

__all__ = [
    "Callee",
    "CalleeSettings",
    "CircuitBreaker",
    "CircuitBreakerProps",
    "Fallback",
    "HealthCheck",
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
