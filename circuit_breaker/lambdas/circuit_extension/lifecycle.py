"""The Lambda Extensions API, as an external extension uses it: register, wait for events, report errors.

``AWS_LAMBDA_RUNTIME_API`` names the endpoint (``host:port``). The extension registers for
``SHUTDOWN`` only: Lambda then waits for it at start-up (until its first ``/2020-01-01/extension/event/next``) and at
shutdown, never during an invocation. Lambda starts the function's runtime only once every
extension has registered, so this module imports nothing heavy: a plain HTTP/1.1 exchange over a
socket (``http.client`` alone, with the email parser and ssl it imports, takes ~30 ms to load),
then the extension loads the rest while the runtime starts.
"""

from __future__ import annotations

import json
import socket

API_VERSION = "2020-01-01"
#: The extension's file name in /opt/extensions, which is the name it registers with.
EXTENSION_NAME = "circuit-breaker"
RUNTIME_API_ENV = "AWS_LAMBDA_RUNTIME_API"


class ExtensionsApiError(RuntimeError):
    """The Extensions API refused a request or could not be reached."""


class ExtensionsApi:
    """A client of the Extensions API for one extension (its identifier once registered)."""

    def __init__(self, runtime_api: str, name: str) -> None:
        self.runtime_api = runtime_api
        self.name = name
        self.identifier: str | None = None

    def _request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[dict[str, str], object]:
        sent = {"Host": self.runtime_api, "Connection": "close", **(headers or {})}
        if self.identifier:
            sent["Lambda-Extension-Identifier"] = self.identifier
        data = b"" if body is None else json.dumps(body).encode()
        if body is not None:
            sent["Content-Type"] = "application/json"
            sent["Content-Length"] = str(len(data))
        host, _, port = self.runtime_api.rpartition(":")
        head = f"{method} /{API_VERSION}/extension/{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items())
        try:
            # No timeout: event/next blocks until an event comes.
            with socket.create_connection((host or "127.0.0.1", int(port or 80))) as connection:
                connection.sendall(head.encode("latin-1") + b"\r\n" + data)
                status, answer_headers, text = _read_answer(connection)
        except (OSError, ValueError) as error:
            raise ExtensionsApiError(f"{method} {path}: {error}") from None
        if status >= 300:
            raise ExtensionsApiError(f"{method} {path}: HTTP {status} {text[:300].decode(errors='replace')}")
        try:
            return answer_headers, json.loads(text) if text else None
        except ValueError:
            return answer_headers, None

    def register(self, events: list[str]) -> dict:
        """Register for ``events``; returns what Lambda says of the function."""
        headers, document = self._request("POST", "register", {"events": events}, {"Lambda-Extension-Name": self.name})
        identifier = headers.get("lambda-extension-identifier")
        if not identifier:
            raise ExtensionsApiError("register answered without a Lambda-Extension-Identifier")
        self.identifier = identifier
        return document if isinstance(document, dict) else {}

    def next_event(self) -> dict:
        """Wait for the next event (for this extension: ``SHUTDOWN``)."""
        event = self._request("GET", "event/next")[1]
        return event if isinstance(event, dict) else {}

    def init_error(self, error_type: str, message: str) -> None:
        """Report that the extension cannot start (Lambda fails the init and shows ``message``)."""
        self._request("POST", "init/error", {"errorMessage": message, "errorType": error_type}, {"Lambda-Extension-Function-Error-Type": error_type})

    def exit_error(self, error_type: str, message: str) -> None:
        """Report a failure before exiting."""
        self._request("POST", "exit/error", {"errorMessage": message, "errorType": error_type}, {"Lambda-Extension-Function-Error-Type": error_type})


def _read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one HTTP/1.1 answer on a ``Connection: close`` exchange."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the connection closed before the answer's headers")
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    while chunk := connection.recv(65536):  # the server closes after the answer (Connection: close)
        rest += chunk
    if "content-length" in headers:
        return status, headers, rest[: int(headers["content-length"])]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return status, headers, _unchunked(rest)
    return status, headers, rest


def _unchunked(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2 :]
    return body
