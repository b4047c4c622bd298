"""Kept so that ``from circuit_breaker.errors import CircuitOpenError``, documented before 0.2's layout, keeps
working: the errors are in :mod:`circuit_breaker.core.errors`, and :mod:`circuit_breaker.client` exports them."""

from circuit_breaker.core.errors import *  # noqa: F401,F403
from circuit_breaker.core.errors import __all__  # noqa: F401
