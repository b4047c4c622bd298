"""``python -m circuit_breaker.cli``: the same as ``breaker``."""

from circuit_breaker.cli.app import main

main()
