"""The ``breaker`` command's entry point (also ``python -m circuit_breaker``).

The CLI lives in :mod:`circuit_breaker.cli.app`, which needs the ``cli`` extra (typer, rich); the local
engine needs the ``local`` extra and synthesis the ``cdk`` extra. Without them ``breaker`` says in one
line which extra to install, instead of dying with ``No module named 'typer'``.
"""

from __future__ import annotations

import sys

#: Top-level modules the optional parts import, and the extra that installs each.
EXTRA_OF_MODULE = {
    "typer": "cli",
    "rich": "cli",
    "click": "cli",
    "boto3": "cli",
    "botocore": "cli",
    "moto": "local",
    "jsonata": "local",
    "aws_cdk": "cdk",
    "constructs": "cdk",
    "jsii": "cdk",
}

DISTRIBUTION = "serverless-circuit-breaker"


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """The extra that installs the module ``error`` could not find, or ``None`` if no extra does."""
    return EXTRA_OF_MODULE.get((error.name or "").split(".")[0])


def main() -> None:
    try:
        from circuit_breaker.cli.app import main as cli_main

        cli_main()
    except ModuleNotFoundError as error:
        extra = missing_extra(error)
        if extra is None:
            raise
        print(
            f"error: breaker needs the {extra!r} extra ({error.name} is not installed): "
            f"pip install '{DISTRIBUTION}[{extra}]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
