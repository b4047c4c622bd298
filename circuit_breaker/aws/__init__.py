"""Where AWS calls go and how a deployed breaker is found: connection, deployment, definition, local state.

A :class:`Connection` reaches AWS or a local engine; a :class:`Deployment` is one breaker found by its stack,
its state machine's ARN or its tag, and its definition (:mod:`.definition`) names everything else. May import
:mod:`circuit_breaker.core` and boto3; nothing else of the package.
"""

from circuit_breaker.aws.connection import AwsSetupError, Connection, local_client_config
from circuit_breaker.aws.deployment import AmbiguousDeploymentError, Deployment, DeploymentNotFoundError

__all__ = [
    "AmbiguousDeploymentError",
    "AwsSetupError",
    "Connection",
    "Deployment",
    "DeploymentNotFoundError",
    "local_client_config",
]
