"""Kept so that an import path the README documented before 0.2's layout keeps working: the code is in
:mod:`circuit_breaker.aws.connection`."""

from circuit_breaker.aws.connection import AwsSetupError, Connection, local_client_config  # noqa: F401

__all__ = ["AwsSetupError", "Connection", "local_client_config"]
