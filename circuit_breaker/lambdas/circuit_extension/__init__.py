"""The circuit-breaker Lambda extension: serves circuit states on localhost from a short cache.

An external extension (a process beside the function's runtime, started by Lambda from
``/opt/extensions/circuit-breaker``). It registers with the Extensions API for ``SHUTDOWN`` only, so
it adds nothing to any invocation; reads the table lazily, only for the callees asked about, with
strongly consistent ``GetItem``s (never a ``Scan``); and answers
``GET http://localhost:4270/circuits/{callee}`` (the port ``grant_read_circuits`` sets) with :class:`circuit_breaker.core.extension_api.CircuitAnswer`.
"""
