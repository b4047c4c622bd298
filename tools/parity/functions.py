"""The harness's own Lambda handlers, one per behaviour the recorded tests needed of a function.

Each is deployed as module ``handler`` with handler ``handler.handler`` (the file and function name the
recorded stack traces show) and runs in-process on the engine's Lambda runtime. The sources are kept
as short as the behaviour: a stack trace records line numbers, so the line that raises is line 2.
"""

from __future__ import annotations

import io
import zipfile

HANDLER = "handler.handler"

#: name -> source of handler.py
SOURCES: dict[str, str] = {
    # Answers the event it was given.
    "identity": "def handler(event, context):\n    return event\n",
    # Answers a constant object (what the recorded pipe's first function answered, whatever its event).
    "return_hello_world": 'def handler(event, context):\n    return {"Return": "HelloWorld"}\n',
    # Fails with a plain exception.
    "raise_exception": 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n',
    # Fails with an exception whose str() is empty (its message lives in an attribute only).
    "raise_custom_exception": (
        "class CustomException(Exception):\n"
        "    message: str\n"
        "\n"
        "    def __init__(self):\n"
        '        self.message = "CustomException message"\n'
        "\n"
        "\n"
        "def handler(event, context):\n"
        "    raise CustomException()\n"
    ),
    # Answers raw bytes that are a JSON string (the runtime passes bytes through unencoded).
    "return_bytes_str": "def handler(event, context):\n    return b'\"HelloWorld!\"'\n",
    # Answers 257 KiB of raw bytes: more than a state may carry.
    "large_output": "def handler(event, context):\n    return b'a' * (257 * 1024)\n",
    # Answers a string built from its event.
    "decorated_input": 'def handler(event, context):\n    return f"input-event-{event}"\n',
    # Runs for a minute (longer than any state timeout of the tests).
    "wait_60_seconds": "import time\n\ndef handler(event, context):\n    time.sleep(60)\n    return event\n",
}


class UnknownHandlerError(KeyError):
    """A recipe names a handler this module does not have."""


def package(name: str) -> bytes:
    """The deployment package (a zip holding the module ``handler``) of handler ``name``."""
    if name not in SOURCES:
        raise UnknownHandlerError(f"no parity handler named {name!r}; known: {', '.join(sorted(SOURCES))}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", SOURCES[name])
    return buffer.getvalue()
