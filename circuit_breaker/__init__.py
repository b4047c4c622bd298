"""The serverless circuit breaker's Python side: the ``breaker`` CLI, the caller client and the local engine.

Callers use :class:`circuit_breaker.client.CircuitBreakerClient`; operators use the ``breaker`` command;
tests and laptops run everything on :class:`circuit_breaker.local.engine.LocalEngine`.
"""
