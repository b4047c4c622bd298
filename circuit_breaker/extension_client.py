"""Kept so that an import path the README documented before 0.2's layout keeps working: the code is in
:mod:`circuit_breaker.client.extension_reader`."""

from circuit_breaker.client.extension_reader import ExtensionReader  # noqa: F401

__all__ = ["ExtensionReader"]
