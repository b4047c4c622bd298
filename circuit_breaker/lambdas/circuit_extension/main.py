"""The extension's process: register, serve, wait for ``SHUTDOWN``.

Start-up is kept to what Lambda must wait for. Lambda starts the function's runtime once every
extension has registered, so registering comes first, before any import beyond the Extensions API
client; the rest (configuration, cache, server) loads while the runtime starts, and ``/2020-01-01/extension/event/next``
follows as soon as the port is bound. The table is not read until a check asks, and the DynamoDB
client (botocore, the slow import) is built in the background after the extension said it is ready.
"""

from __future__ import annotations

import os
import sys
import time

from circuit_breaker.lambdas.circuit_extension.lifecycle import EXTENSION_NAME, RUNTIME_API_ENV, ExtensionsApi, ExtensionsApiError


def _log(message: str) -> None:
    """One line in the function's log (Lambda captures an extension's output there)."""
    print(f"[{EXTENSION_NAME}] {message}", file=sys.stderr, flush=True)


def main() -> int:
    started = time.monotonic()
    runtime_api = os.environ.get(RUNTIME_API_ENV)
    if not runtime_api:
        _log(f"{RUNTIME_API_ENV} is not set: this program is a Lambda extension, started by Lambda from /opt/extensions")
        return 2
    api = ExtensionsApi(runtime_api, EXTENSION_NAME)
    try:
        api.register(["SHUTDOWN"])
    except ExtensionsApiError as error:
        _log(f"cannot register with the Extensions API: {error}")
        return 1
    registered = time.monotonic()

    import threading

    from circuit_breaker.core.extension_api import InvalidExtensionConfigError
    from circuit_breaker.lambdas.circuit_extension.cache import CircuitCache, TableReader
    from circuit_breaker.lambdas.circuit_extension.config import ExtensionConfig
    from circuit_breaker.lambdas.circuit_extension.server import CircuitServer, unavailable

    try:
        config = ExtensionConfig.from_environment()
    except InvalidExtensionConfigError as error:
        _log(str(error))
        api.init_error("Extension.ConfigInvalid", str(error))
        return 1
    reader = TableReader(config.table_name)
    try:
        server = CircuitServer(CircuitCache(config, reader.get), config.port)
    except OSError as error:
        message = unavailable(config.port, error)
        _log(message)
        api.init_error("Extension.PortUnavailable", message)
        return 1
    server.start()
    _log(
        f"serving {len(config.callees)} circuit(s) on 127.0.0.1:{server.port}/circuits/{{callee}}, reads reused for "
        f"{config.cache_seconds:g} s; registered in {(registered - started) * 1000:.0f} ms, ready in {(time.monotonic() - started) * 1000:.0f} ms"
    )
    threading.Thread(target=reader.prewarm, name="prewarm", daemon=True).start()
    while True:
        try:
            event = api.next_event()
        except ExtensionsApiError as error:
            _log(f"lost the Extensions API: {error}")
            server.stop()
            return 1
        if event.get("eventType") == "SHUTDOWN":
            server.stop()
            return 0
