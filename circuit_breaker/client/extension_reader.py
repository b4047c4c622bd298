"""Read circuits from the circuit-breaker extension, when the function has it (the Python side of its API).

A function given the extension layer and ``breaker.grant_read_circuits(fn)`` has
``CIRCUIT_BREAKER_EXTENSION_PORT`` set; :meth:`ExtensionReader.from_environment` then returns a
reader, else ``None``. :class:`~circuit_breaker.client.calls.CircuitBreakerClient` asks it before each
call: a circuit that fails fast costs no Step Functions execution. Anything short of a clear
answer (the extension not running, an error, an unknown callee, a callee with a fallback, a table
the extension could not read) means "ask the workflow": the reader never fails a call on its own.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Mapping

from circuit_breaker.core.errors import BreakerError, CircuitIsolatedError, CircuitOpenError
from circuit_breaker.core.extension_api import CIRCUITS_PATH, PORT_ENV, CircuitAnswer

#: A cached check is a loopback round trip (well under a millisecond), a fresh one a table read (milliseconds; the
#: first after a cold start also builds the extension's DynamoDB client). Past this, the call asks the workflow.
DEFAULT_TIMEOUT_SECONDS = 1.0


class ExtensionReader:
    """Asks the extension on ``127.0.0.1:port`` for circuits."""

    def __init__(self, port: int, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base = f"http://127.0.0.1:{port}{CIRCUITS_PATH}"
        self.timeout = timeout

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "ExtensionReader | None":
        """A reader when ``CIRCUIT_BREAKER_EXTENSION_PORT`` names a port, else ``None``."""
        text = (os.environ if environ is None else environ).get(PORT_ENV, "").strip()
        return cls(int(text)) if text.isdigit() and 0 < int(text) < 65536 else None

    def check(self, callee: str, key: str | None = None) -> CircuitAnswer | None:
        """The callee's circuit (or its ``key``'s) as the extension serves it; ``None`` when it gives no answer."""
        url = self.base + urllib.parse.quote(callee, safe="")
        if key is not None:
            url += "?" + urllib.parse.urlencode({"key": key})
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as answer:  # noqa: S310 - loopback only
                return CircuitAnswer.from_dict(json.loads(answer.read()))
        except (OSError, ValueError, TypeError):  # not running, 404, timed out, not an answer
            return None

    def refusal(self, callee: str, key: str | None = None) -> BreakerError | None:
        """The error the workflow would fail this call with right now, if the extension knows it; else ``None``.

        Only a read circuit that fails fast refuses, and only for a callee without a fallback (the
        workflow answers those with the fallback instead).
        """
        answer = self.check(callee, key)
        if answer is None or answer.allowed or answer.fallback or answer.storeError is not None:
            return None
        source = {"source": "circuit-breaker extension", "ageSeconds": answer.ageSeconds, **({"key": key} if key else {})}
        if answer.isolated:
            cause = {"callee": callee, "reason": answer.reason, "retryAfter": answer.retryAfter, "attempts": 0, **source}
            return CircuitIsolatedError(CircuitIsolatedError.error_name, cause)
        cause = {"callee": callee, "state": answer.state, "retryAfter": answer.retryAfter, "attempts": 0, **source}
        return CircuitOpenError(CircuitOpenError.error_name, cause)
