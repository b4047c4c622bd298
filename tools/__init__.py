"""Development tools that stay out of the wheel: the parity harness (``python -m tools.parity``, ``make parity``)."""
