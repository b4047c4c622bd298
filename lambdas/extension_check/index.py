"""The e2e stack's ``extension_check``: asks the circuit-breaker extension beside it about a callee, and answers with that.

It has the extension layer (``stacks/e2e_stack.py``), so what it returns is what the extension running
inside real Lambda said: the end-to-end suite (``tests/e2e/test_extension.py``) invokes it with
``{"callee": NAME}`` and gets ``{"status": 200, "body": {...}, "extensions": [...]}``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

EXTENSIONS_DIR = "/opt/extensions"


def handler(event: Any, context: Any) -> dict[str, Any]:
    callee = event.get("callee") if isinstance(event, dict) else None
    if not isinstance(callee, str) or not callee:
        return {"status": None, "error": "invoke with {\"callee\": NAME}", "extensions": _extensions()}
    port = os.environ.get("CIRCUIT_BREAKER_EXTENSION_PORT", "4243")
    url = f"http://127.0.0.1:{port}/circuits/{urllib.parse.quote(callee, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return {"status": answer.status, "body": json.loads(answer.read()), "extensions": _extensions()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read() or b"null"), "extensions": _extensions()}
    except (OSError, ValueError) as error:  # nothing listening (no extension), or not JSON
        return {"status": None, "error": f"{type(error).__name__}: {error}", "extensions": _extensions()}


def _extensions() -> list[str]:
    """The extensions Lambda starts for this function (the files of /opt/extensions)."""
    try:
        return sorted(os.listdir(EXTENSIONS_DIR))
    except OSError:
        return []
