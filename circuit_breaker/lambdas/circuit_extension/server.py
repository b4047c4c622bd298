"""The extension's HTTP server on localhost: ``GET /circuits/{callee}`` and nothing else.

Bound to 127.0.0.1 only (nothing outside the execution environment reaches it), one thread per
connection, HTTP/1.1 keep-alive so a function that reuses its connection pays no handshake per check.
Every answer is JSON, errors included: an unknown callee is a 404 naming the registered ones, any method
but GET (HEAD, OPTIONS, TRACE, CONNECT, or one never heard of) a 405 with ``Allow: GET``, a request
http.server cannot parse its own 4xx. A request's body is read and dropped before the answer, so the
next request on a kept-alive connection starts where it should; a body too large to drop, or framed
ambiguously, is answered and the connection closed.
"""

from __future__ import annotations

import errno
import json
import re
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from circuit_breaker.core.extension_api import CIRCUITS_PATH
from circuit_breaker.lambdas.circuit_extension.cache import CircuitCache
from circuit_breaker.core.call_input import circuit_key_problem
from circuit_breaker.core.registry import not_registered, without_circuit_keys

HOST = "127.0.0.1"
#: The largest request body read and dropped; a larger one is answered 413 and its connection closed.
MAX_BODY_BYTES = 65_536
_CHUNK_LINE_BYTES = 1024
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_MAX_TRAILER_LINES = 100


class _BadFraming(Exception):
    """The request's body cannot be read (or is too large to): answer ``status`` and close the connection."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "circuit-breaker-extension"
    # Headers and body go out in two writes; with Nagle's algorithm a kept-alive client's delayed ACK stalls
    # the second for ~40 ms on every check.
    disable_nagle_algorithm = True
    cache: CircuitCache  # set on the subclass the server makes

    def _send(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":  # an answer to HEAD has no body, whatever its status
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, headers too long), as JSON; the connection closes."""
        self.close_connection = True
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = self.protocol_version  # an unreadable request line still gets a status line and headers
        status = HTTPStatus(code)
        self._send(code, {"error": status.phrase.replace(" ", ""), "message": message or status.description or status.phrase})

    def _drain(self) -> bool:
        """Read and drop the request's body; ``False`` (after answering) when the connection cannot go on."""
        try:
            self._drop_body()
        except _BadFraming as error:
            self.close_connection = True
            self._send(error.status, {"error": error.status.phrase.replace(" ", ""), "message": str(error)})
            return False
        return True

    def _drop_body(self) -> None:
        lengths = self.headers.get_all("Content-Length") or []
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if lengths or coding.strip().lower() != "chunked":
                raise _BadFraming(HTTPStatus.BAD_REQUEST, "a request body must be framed by one Content-Length or by Transfer-Encoding: chunked alone")
            self._drop_chunks()
            return
        if not lengths:
            return
        if len(set(lengths)) != 1 or not (lengths[0].strip().isascii() and lengths[0].strip().isdigit()):
            raise _BadFraming(HTTPStatus.BAD_REQUEST, f"Content-Length must be one whole number, got {', '.join(lengths)[:100]}")
        self._drop(int(lengths[0]))

    def _drop(self, size: int) -> None:
        if size > MAX_BODY_BYTES:
            raise _BadFraming(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body may be at most {MAX_BODY_BYTES} bytes (none is needed)")
        while size > 0:
            read = self.rfile.read(min(size, 16_384))
            if not read:
                raise _BadFraming(HTTPStatus.BAD_REQUEST, "the request body ended early")
            size -= len(read)

    def _drop_chunks(self) -> None:
        total = 0
        while True:
            line = self.rfile.readline(_CHUNK_LINE_BYTES)
            size_text = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _BadFraming(HTTPStatus.BAD_REQUEST, "a chunk of the request body has no valid size")
            size = int(size_text, 16)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadFraming(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body may be at most {MAX_BODY_BYTES} bytes (none is needed)")
            if size == 0:
                break
            self._drop(size)
            if self.rfile.readline(_CHUNK_LINE_BYTES).strip():
                raise _BadFraming(HTTPStatus.BAD_REQUEST, "a chunk of the request body is longer than its size")
        for _ in range(_MAX_TRAILER_LINES):  # trailers, up to the empty line that ends the body
            if not self.rfile.readline(_CHUNK_LINE_BYTES).strip():
                return
        raise _BadFraming(HTTPStatus.BAD_REQUEST, "the request body's trailer never ends")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if not self._drain():
            return
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
            self._send(400, {"error": "InvalidKey", "callee": callee, "message": without_circuit_keys(callee, "leave ?key= out")})
            return
        problem = None if key is None else circuit_key_problem(key)
        if problem is not None:
            self._send(400, {"error": "InvalidKey", "callee": callee, "message": problem})
            return
        self._send(200, self.cache.answer(callee, key).as_dict())

    def _refuse(self) -> None:
        if self._drain():
            message = f"only GET {CIRCUITS_PATH}{{callee}} is served, not {self.command[:20]}"
            self._send(405, {"error": "MethodNotAllowed", "message": message}, {"Allow": "GET"})

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Every method but GET is refused with a 405 (http.server would answer an HTML 501 for one it has no ``do_``)."""
        if name.startswith("do_"):
            return self._refuse
        raise AttributeError(name)

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
