"""The serverless circuit breaker's Python side, one subpackage per concern.

- :mod:`circuit_breaker.core`: the standard library only, shared by everything else and by the Lambda code the
  construct deploys: the workflow's errors, the settings, the circuit item's model and its writes, transitions,
  the health checks' decisions, the extension's interface.
- :mod:`circuit_breaker.aws`: where AWS calls go and how a deployed breaker is found.
- :mod:`circuit_breaker.client`: the caller's side: :class:`~circuit_breaker.client.CircuitBreakerClient`, its
  open-circuit cache and its reader of the extension.
- :mod:`circuit_breaker.operate`: operators: circuits (status, isolate, reset), executions and their history,
  redrive of the dead-letter queue, health-check runs.
- :mod:`circuit_breaker.cli`: the ``breaker`` command (typer and rich), its printing, the demo.
- :mod:`circuit_breaker.cdk`: the ``CircuitBreaker`` construct (aws-cdk-lib).
- :mod:`circuit_breaker.lambdas`: the code of the functions and the layer the construct deploys.
- :mod:`circuit_breaker.local`: the embedded local engine (moto, patched).

Each layer imports only the ones before it in this list (``cdk`` and ``lambdas`` only ``core``); nothing is
imported here, so the Lambda code, which ships this file, loads no more than it needs.
"""
