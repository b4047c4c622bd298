"""The extension's HTTP server on localhost: ``GET /circuits/{callee}`` and nothing else.

Bound to 127.0.0.1 only (nothing outside the execution environment reaches it), one thread per
connection, HTTP/1.1 keep-alive so a function that reuses its connection pays no handshake per check.
Every answer is JSON; an unknown callee is a 404 naming the registered ones.
"""

from __future__ import annotations

import errno
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from circuit_breaker.core.extension_api import CIRCUITS_PATH
from circuit_breaker.lambdas.circuit_extension.cache import CircuitCache
from circuit_breaker.core.record import CIRCUIT_KEY_PATTERN
from circuit_breaker.core.registry import not_registered

HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "circuit-breaker-extension"
    # Headers and body go out in two writes; with Nagle's algorithm a kept-alive client's delayed ACK stalls
    # the second for ~40 ms on every check.
    disable_nagle_algorithm = True
    cache: CircuitCache  # set on the subclass the server makes

    def _send(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        registered = sorted(self.cache.config.callees)
        if not path.startswith(CIRCUITS_PATH) or path == CIRCUITS_PATH:
            self._send(404, {"error": "NotFound", "message": f"ask GET {CIRCUITS_PATH}{{callee}}; registered: {', '.join(registered)}", "registered": registered})
            return
        callee = urllib.parse.unquote(path[len(CIRCUITS_PATH):])
        if not self.cache.knows(callee):
            self._send(404, {
                "error": "UnknownCallee", "callee": callee[:200],
                "message": not_registered(callee[:200], registered, "this function"),
                "registered": registered,
            })  # fmt: skip
            return
        keys = urllib.parse.parse_qs(parts.query, keep_blank_values=True).get("key")
        key = keys[-1] if keys else None
        if key is not None and not self.cache.keyed(callee):
            self._send(400, {"error": "InvalidKey", "callee": callee, "message": f"{callee} has one circuit for every call (no circuit_keys): leave ?key= out"})
            return
        if key is not None and not CIRCUIT_KEY_PATTERN.fullmatch(key):
            self._send(400, {"error": "InvalidKey", "callee": callee, "message": f"key {key[:200]!r} is not a circuit key: use 1 to 64 letters, digits, _ . : or -"})
            return
        self._send(200, self.cache.answer(callee, key).as_dict())

    def _refuse(self) -> None:
        self._send(405, {"error": "MethodNotAllowed", "message": f"only GET {CIRCUITS_PATH}{{callee}} is served"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the function's logs are the user's
        return


#: Extensions known to listen on localhost, by port: who most likely holds a port found taken.
KNOWN_LISTENERS = {
    2772: "the AWS AppConfig Agent Lambda extension",
    2773: "the AWS Parameters and Secrets Lambda Extension",
    4243: "AWS's circuit-breaker extension sample or circuitbreaker-lambda's extension",
}


def unavailable(port: int, error: OSError) -> str:
    """Why the server cannot bind ``port``, and what to do: all extensions of a function share its network.

    A port in use is most likely another extension's (the function's own code starts after every
    extension is ready): the message names it when the port is a known one, and how to move this one.
    """
    fix = (
        "choose another port for this extension: breaker.grant_read_circuits(fn, port=...) "
        "(it sets CIRCUIT_BREAKER_EXTENSION_PORT, which the Python client follows)"
    )
    if error.errno != errno.EADDRINUSE:
        return f"cannot serve on {HOST}:{port}: {error}; {fix}"
    holder = KNOWN_LISTENERS.get(port, "another extension of this function")
    return f"port {port} on {HOST} is already in use, most likely by {holder}: {fix}"


class CircuitServer:
    """Serves ``cache`` on ``127.0.0.1:port`` from a background thread."""

    def __init__(self, cache: CircuitCache, port: int) -> None:
        handler = type("CircuitHandler", (_Handler,), {"cache": cache})
        self._server = ThreadingHTTPServer((HOST, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="circuit-server", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
