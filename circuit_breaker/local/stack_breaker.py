"""Find the circuit breaker inside a stack the local engine deployed: any stack, not only the sample's.

The construct tags its state machine (``circuit-breaker`` = the construct's path), so the engine
finds the tagged ``AWS::StepFunctions::StateMachine`` in the template it deployed and takes the ARN
CloudFormation gave it; everything else (table, registry, log group, event bus, dead-letter queue)
is read from that state machine the way the CLI and client read it on AWS
(:meth:`circuit_breaker.aws.deployment.Deployment.from_state_machine`).
"""

from __future__ import annotations

from typing import Any, Mapping

from circuit_breaker.core.registry import DISCOVERY_TAG


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


def breaker_state_machine(
    stack_name: str, template: Mapping[str, Any], physical_ids: Mapping[str, str], path: str | None = None
) -> str:
    """The ARN of the breaker's state machine in a deployed stack (``path``: which construct, when several).

    ``physical_ids`` maps the template's logical IDs to what CloudFormation created.
    """
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
    return physical_ids[breakers[path] if path is not None else next(iter(breakers.values()))]
