"""Probe a callee once: GET its URL, or invoke its function with the check's payload.

Unlike AWS's sample (any HTTP answer healthy, connection errors ignored), only a 2xx or 3xx answer is
healthy; a 4xx or 5xx, a timeout, a connection error and an answer that is not valid HTTP (a bad status
line, another protocol's banner, a header line over 64 KiB, more than 100 headers) are unhealthy, and
every probe has a result. Redirects are not followed: a 3xx is the service answering.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from circuit_breaker.core.health import ProbeResult

USER_AGENT = "circuit-breaker-health-check/1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer it is instead of following it (to another host, perhaps)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _elapsed(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def probe_url(url: str, timeout_seconds: float) -> ProbeResult:
    """GET ``url``: healthy on 2xx/3xx; unhealthy on 4xx/5xx, a timeout or a connection error."""
    started = time.monotonic()
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout_seconds) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    except (TimeoutError, socket.timeout):
        return ProbeResult(False, f"timed out after {timeout_seconds:g} s", _elapsed(started))
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ProbeResult(False, f"timed out after {timeout_seconds:g} s", _elapsed(started))
        return ProbeResult(False, f"connection error: {reason}", _elapsed(started))
    except (OSError, ValueError) as error:  # a reset connection (or one closed before any answer), a bad URL
        return ProbeResult(False, f"connection error: {error}", _elapsed(started))
    except http.client.HTTPException as error:  # BadStatusLine, LineTooLong, too many headers: not HTTP
        shown = " ".join(str(error).split())[:200] or "(empty)"  # the offending line, on one line
        return ProbeResult(False, f"malformed HTTP answer: {type(error).__name__}: {shown}", _elapsed(started))
    return ProbeResult(200 <= status < 400, f"HTTP {status}", _elapsed(started))


def probe_function(lambda_client: Any, function_arn: str, payload: Any, timeout_seconds: float) -> ProbeResult:
    """Invoke the callee with ``payload``: healthy when it returns without a function error.

    ``lambda_client`` must not retry (a retried invoke would run the callee twice) and must give up
    reading after ``timeout_seconds`` (:func:`lambdas.health_check.index` builds it so).
    """
    started = time.monotonic()
    try:
        answer = lambda_client.invoke(FunctionName=function_arn, Payload=json.dumps(payload).encode())
    except (ReadTimeoutError, ConnectTimeoutError):
        return ProbeResult(False, f"timed out after {timeout_seconds:g} s", _elapsed(started))
    except ClientError as error:
        details = error.response.get("Error", {})
        return ProbeResult(False, f"{details.get('Code', 'Lambda error')}: {details.get('Message', '')}"[:512], _elapsed(started))
    except BotoCoreError as error:
        return ProbeResult(False, f"connection error: {error}"[:512], _elapsed(started))
    body = answer["Payload"].read()
    if answer.get("FunctionError"):
        try:
            document = json.loads(body)
            described = f"{document.get('errorType', 'Error')}: {document.get('errorMessage', '')}"
        except (ValueError, AttributeError):
            described = body[:200].decode(errors="replace")
        return ProbeResult(False, f"function error {described}"[:512], _elapsed(started))
    return ProbeResult(True, f"invoked, status {answer.get('StatusCode', 200)}", _elapsed(started))
