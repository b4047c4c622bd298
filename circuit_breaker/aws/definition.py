"""What a deployed breaker's state machine definition tells about it: table, callee registry, event bus.

The construct bakes everything the workflow needs into the definition at synth time (the README's
*Configuration*), so a state machine's ARN alone is enough to find the rest. The definition is read by
what it does, not by how its states are named or drawn: the table is the ``TableName`` of any
DynamoDB task, the registry the JSON object of callees (each with a ``functionArn``) inside a
``$parse('...')`` anywhere in the states, the event bus and source those of any
``events:putEvents`` entry. A workflow restructured inside still reads the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from circuit_breaker.core.registry import RegisteredCallee

_DYNAMODB_TASK = re.compile(r"^arn:aws[a-z-]*:states:::dynamodb:")
_PUT_EVENTS_TASK = re.compile(r"^arn:aws[a-z-]*:states:::events:putEvents")
_SEND_MESSAGE_TASK = re.compile(r"^arn:aws[a-z-]*:states:::sqs:sendMessage")
#: ``$parse('...')`` with a JSONata single-quoted string literal inside (``\'`` and ``\\`` escapes allowed).
_PARSE_CALL = re.compile(r"\$parse\(\s*'((?:[^'\\]|\\.)*)'\s*\)")


class DefinitionError(ValueError):
    """The definition is not a circuit breaker's: something the CLI and client need is not in it."""


@dataclass(frozen=True)
class DefinitionFacts:
    """What the CLI and client need from a breaker's definition."""

    table_name: str
    registry: Mapping[str, RegisteredCallee] = field(default_factory=lambda: MappingProxyType({}))
    event_bus_name: str | None = None
    event_source: str | None = None
    dead_letter_queue_url: str | None = None
    """Where failed asynchronous calls wait (the ``QueueUrl`` of the ``sqs:sendMessage`` task)."""


def _literal(value: Any) -> bool:
    """A plain string value (not a JSONata expression evaluated at run time)."""
    return isinstance(value, str) and bool(value) and not value.startswith("{%")


def _walk(node: Any) -> Iterator[Any]:
    """Every value of a JSON document, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def jsonata_literal_text(literal: str) -> str:
    """The text of a JSONata single-quoted string literal's body (its escapes are JSON's)."""
    if "\\" not in literal:
        return literal
    try:
        return json.loads('"' + literal.replace('"', '\\"').replace("\\'", "'") + '"')
    except ValueError:
        return literal


def _registry_in(text: str) -> dict[str, Any] | None:
    for match in _PARSE_CALL.finditer(text):
        try:
            parsed = json.loads(jsonata_literal_text(match.group(1)))
        except ValueError:
            continue
        if (
            isinstance(parsed, dict)
            and parsed
            and all(isinstance(entry, dict) and isinstance(entry.get("functionArn"), str) for entry in parsed.values())
        ):
            return parsed
    return None


def read_definition(definition: str | Mapping[str, Any]) -> DefinitionFacts:
    """Read table, registry and event bus out of a (substituted) breaker definition.

    Raises :class:`DefinitionError` when the definition has no DynamoDB task naming a table.
    """
    document = json.loads(definition) if isinstance(definition, str) else definition
    table_name: str | None = None
    registry: dict[str, Any] | None = None
    bus: str | None = None
    source: str | None = None
    queue: str | None = None
    for node in _walk(document):
        if isinstance(node, dict) and isinstance(node.get("Resource"), str):
            arguments = node.get("Arguments") or node.get("Parameters") or {}
            named = arguments.get("TableName") if isinstance(arguments, dict) else None
            if table_name is None and _DYNAMODB_TASK.match(node["Resource"]) and _literal(named):
                table_name = named
            if queue is None and _SEND_MESSAGE_TASK.match(node["Resource"]) and isinstance(arguments, dict) and _literal(arguments.get("QueueUrl")):
                queue = arguments["QueueUrl"]
            if bus is None and _PUT_EVENTS_TASK.match(node["Resource"]):
                entries = arguments.get("Entries") if isinstance(arguments, dict) else None
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict) and _literal(entry.get("EventBusName")):
                        bus = entry["EventBusName"]
                        source = entry["Source"] if _literal(entry.get("Source")) else None
                        break
        elif registry is None and isinstance(node, str) and "$parse(" in node:
            registry = _registry_in(node)
    if table_name is None:
        raise DefinitionError("the definition has no DynamoDB task naming a table: is it a circuit breaker's state machine?")
    callees = {name: RegisteredCallee.from_entry(name, entry) for name, entry in sorted((registry or {}).items())}
    return DefinitionFacts(
        table_name=table_name, registry=MappingProxyType(callees), event_bus_name=bus, event_source=source, dead_letter_queue_url=queue
    )
