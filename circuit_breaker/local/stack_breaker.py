"""Find the circuit breaker inside a stack the local engine deployed: any stack, not only the sample's.

The sample stack publishes outputs naming its breaker's resources; a user's stack that only adds a
``CircuitBreaker`` construct publishes nothing. The construct tags its state machine
(``circuit-breaker`` = the construct's path), so the engine finds the tagged
``AWS::StepFunctions::StateMachine`` in the template it deployed and follows the machine's
properties to the table (definition substitution ``TableName``), the log group (logging
destination), the event bus and the registered callees, resolving each to the physical name
CloudFormation gave it. This is the engine's one lookup; the CLI and client discover breakers on AWS
through :mod:`circuit_breaker.deployment`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from circuit_breaker.deployment import OUTPUT_STATE_MACHINE_ARN, OUTPUT_TABLE_NAME, Deployment

#: The tag the construct puts on every breaker's state machine (``circuit_breaker.cdk.construct.DISCOVERY_TAG``;
#: repeated here so the engine does not import the CDK).
DISCOVERY_TAG = "circuit-breaker"


class BreakerNotFoundError(LookupError):
    """The stack holds no circuit breaker, or several and none was chosen."""


def breaker_paths(template: Mapping[str, Any]) -> dict[str, str]:
    """Construct path -> logical ID of every state machine in ``template`` tagged as a circuit breaker."""
    found: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        for tag in resource.get("Properties", {}).get("Tags", []):
            if tag.get("Key") == DISCOVERY_TAG:
                found[str(tag.get("Value"))] = logical_id
    return found


def find_breaker(
    stack_name: str,
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    outputs: Mapping[str, str],
    path: str | None = None,
) -> Deployment:
    """The breaker of a deployed stack: from its outputs if it publishes them, else from the tagged state machine.

    ``physical_ids`` maps the template's logical IDs to what CloudFormation created; ``path`` chooses
    among several breakers (the construct path, e.g. ``Shop/Breaker``).
    """
    if path is None and OUTPUT_STATE_MACHINE_ARN in outputs and OUTPUT_TABLE_NAME in outputs:
        return Deployment.from_outputs(stack_name, dict(outputs))
    breakers = breaker_paths(template)
    if path is not None and path not in breakers:
        raise BreakerNotFoundError(f"stack {stack_name} has no circuit breaker at {path}; it has: {', '.join(sorted(breakers)) or 'none'}")
    if path is None and len(breakers) != 1:
        if not breakers:
            raise BreakerNotFoundError(
                f"stack {stack_name} holds no circuit breaker (no state machine tagged {DISCOVERY_TAG!r}): "
                "add a circuit_breaker.cdk.CircuitBreaker to it"
            )
        raise BreakerNotFoundError(f"stack {stack_name} holds several circuit breakers; choose one of: {', '.join(sorted(breakers))}")
    logical_id = breakers[path] if path is not None else next(iter(breakers.values()))
    properties = template["Resources"][logical_id]["Properties"]
    substitutions = properties.get("DefinitionSubstitutions", {})

    def physical(value: Any) -> str | None:
        """A literal, or the physical ID behind ``{"Ref": id}`` / ``{"Fn::GetAtt": [id, ...]}``."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return physical_ids.get(value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return physical_ids.get(value["Fn::GetAtt"][0])
        return None

    destinations = properties.get("LoggingConfiguration", {}).get("Destinations", [])
    log_group = physical(destinations[0].get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")) if destinations else None
    table = physical(substitutions.get("TableName"))
    if table is None:
        raise BreakerNotFoundError(f"the circuit breaker {logical_id} of stack {stack_name} names no table (TableName)")
    return Deployment(
        stack_name=stack_name,
        state_machine_arn=physical_ids[logical_id],
        table_name=table,
        log_group_name=log_group,
        callees=registered_callees(substitutions.get("Registry")),
        event_bus_name=physical(substitutions.get("EventBusName")),
        event_source=physical(substitutions.get("EventSource")),
    )


def registered_callees(registry: Any) -> tuple[str, ...]:
    """The callee names of the ``Registry`` substitution (JSON escaped into a string, ARNs as CloudFormation tokens)."""
    if isinstance(registry, dict) and "Fn::Join" in registry:
        registry = "".join(part if isinstance(part, str) else "" for part in registry["Fn::Join"][1])
    if not isinstance(registry, str):
        return ()
    try:
        return tuple(sorted(json.loads(json.loads(f'"{registry}"'))))
    except (ValueError, TypeError):
        return ()
