"""The local engine over HTTP (``breaker local up``): moto's server, with every error answered as AWS would.

moto's server answers three kinds of request with something no SDK can read: a service it does not
have (HTTP 500 and a Python traceback), a REST path none of its handlers serves (Flask's HTML "404 Not
Found" page) and a crash inside a handler (HTTP 500). :class:`AwsErrors` wraps moto's dispatcher so
that the first two get a client error naming the service and operation (``UnknownOperationException``),
and the third an ``InternalFailure`` without the traceback (which goes to this process's log). An
operation moto lacks in a service it has is refused in moto itself
(``circuit_breaker/local/patches/unknown_operations.py``), in process as over HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Callable, Iterable

from circuit_breaker.local.patches.unknown_operations import ERROR_CODE, unknown_operation_message

_log = logging.getLogger(__name__)

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def _service_of(environ: dict[str, Any]) -> str:
    """The service a request was signed for (its SigV4 credential scope), else its Host."""
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return scope.group(1) if scope else environ.get("HTTP_HOST", "an unknown service")


def _operation_of(environ: dict[str, Any], service: str) -> str:
    """The operation a request asks for: its ``X-Amz-Target``, else the REST route botocore's model gives it."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    try:
        from moto.core.request import Request
        from moto.core.routing import get_service_router

        operation, _ = get_service_router(service).match(Request(environ))
        return operation.name
    except Exception:  # no model for the service, or no operation at this path
        return f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"


def _json_error(status: str, code: str, message: str, start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("Content-Length", str(len(body)))])
    return [body]


class AwsErrors:
    """WSGI middleware around moto's ``DomainDispatcherApplication``: AWS-shaped errors instead of 500s and HTML."""

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            app = self.dispatcher.get_application(environ)
        except Exception:  # moto has no backend for this host or credential scope
            service = _service_of(environ)
            return _json_error("400 Bad Request", ERROR_CODE, unknown_operation_message(service, _operation_of(environ, service)), start_response)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer.update(status=status, headers=headers)
            return chunks.append

        chunks: list[bytes] = []
        try:
            result = app(environ, capture)
            try:
                chunks.extend(result)
            finally:
                getattr(result, "close", lambda: None)()
        except Exception:
            _log.exception("the local engine failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            return _json_error(
                "500 Internal Server Error", "InternalFailure",
                "the local engine failed on this request (its log has the details)", start_response,
            )
        content_type = dict((k.lower(), v) for k, v in answer["headers"]).get("content-type", "")
        if answer["status"].startswith("404") and content_type.startswith("text/html"):
            service = _service_of(environ)
            return _json_error("404 Not Found", ERROR_CODE, unknown_operation_message(service, _operation_of(environ, service)), start_response)
        start_response(answer["status"], answer["headers"])
        return chunks


class EngineServer:
    """Serves the engine's (process-wide) moto backends on ``host:port`` from a daemon thread."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Listen and serve; returns the endpoint URL."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = AwsErrors(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="breaker-local-server", daemon=True)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
