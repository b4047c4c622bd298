"""The Lambda Extensions API, as an external extension uses it: register, wait for events, report errors.

``AWS_LAMBDA_RUNTIME_API`` names the endpoint (``host:port``). The extension registers for
``SHUTDOWN`` only: Lambda then waits for it at start-up (until its first ``event/next``) and at
shutdown, never during an invocation.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

API_VERSION = "2020-01-01"
RUNTIME_API_ENV = "AWS_LAMBDA_RUNTIME_API"


class ExtensionsApiError(RuntimeError):
    """The Extensions API refused a request or could not be reached."""


class ExtensionsApi:
    """A client of the Extensions API for one extension (its identifier once registered)."""

    def __init__(self, runtime_api: str, name: str) -> None:
        self.base = f"http://{runtime_api}/{API_VERSION}/extension"
        self.name = name
        self.identifier: str | None = None

    def _request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/{path}", data=data, method=method, headers=headers or {})
        if self.identifier:
            request.add_header("Lambda-Extension-Identifier", self.identifier)
        try:
            with urllib.request.urlopen(request) as answer:  # noqa: S310 - the local Extensions API; event/next blocks
                text = answer.read()
                return dict(answer.headers), json.loads(text) if text else None
        except OSError as error:
            raise ExtensionsApiError(f"{method} {path}: {error}") from None

    def register(self, events: list[str]) -> dict[str, Any]:
        """Register for ``events``; returns what Lambda says of the function."""
        headers, document = self._request("POST", "register", {"events": events}, {"Lambda-Extension-Name": self.name})
        identifier = headers.get("Lambda-Extension-Identifier")
        if not identifier:
            raise ExtensionsApiError("register answered without a Lambda-Extension-Identifier")
        self.identifier = identifier
        return document or {}

    def next_event(self) -> dict[str, Any]:
        """Wait for the next event (for this extension: ``SHUTDOWN``)."""
        return self._request("GET", "event/next")[1] or {}

    def init_error(self, error_type: str, message: str) -> None:
        """Report that the extension cannot start (Lambda fails the init and shows ``message``)."""
        self._request("POST", "init/error", {"errorMessage": message, "errorType": error_type}, {"Lambda-Extension-Function-Error-Type": error_type})

    def exit_error(self, error_type: str, message: str) -> None:
        """Report a failure before exiting."""
        self._request("POST", "exit/error", {"errorMessage": message, "errorType": error_type}, {"Lambda-Extension-Function-Error-Type": error_type})
