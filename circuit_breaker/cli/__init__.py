"""The ``breaker`` command: typer commands, their printing (:mod:`.render`) and the demo (:mod:`.demo`).

Needs the ``cli`` extra. May import every other part of the package; nothing imports it.
"""

from circuit_breaker.cli.app import app, main

__all__ = ["app", "main"]
