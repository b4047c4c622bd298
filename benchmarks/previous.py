"""The workflow as it was before issue 9, deployed beside the current one so both are measured in one run.

``previous_workflow.asl.json`` is ``statemachine/circuit_breaker.asl.json`` at commit 1254079, just before
b67984b rewrote it (native ``Retry`` on ``Call callee``, one count per call after its retries, threshold 3
by default). It is deployed with the current deployment's own substitutions (table, registry, event bus), recovered from
the deployed definition, and its then-default failure threshold; it logs to the same log group.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from circuit_breaker.local.patches import substitute_definition
from circuit_breaker.core.settings import CalleeSettings
from tests.conftest import Breaker

PROJECT_DIR = Path(__file__).resolve().parent.parent
PREVIOUS_ASL = Path(__file__).resolve().parent / "previous_workflow.asl.json"
CURRENT_ASL = PROJECT_DIR / "statemachine" / "circuit_breaker.asl.json"
#: The default failure threshold before issue 9 (one count per call, after its retries).
PREVIOUS_FAILURE_THRESHOLD = 3
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class SubstitutionsNotFoundError(RuntimeError):
    """The deployed definition is not the repository's definition with its placeholders filled in."""


def deployed_substitutions(template_text: str, deployed_text: str) -> dict[str, str]:
    """The value each ``${Name}`` of ``template_text`` took in ``deployed_text`` (the same definition, substituted)."""
    seen: set[str] = set()
    pattern = []
    for position, part in enumerate(_PLACEHOLDER.split(template_text)):
        if position % 2 == 0:
            pattern.append(re.escape(part))
        elif part in seen:
            pattern.append(f"(?P={part})")
        else:
            seen.add(part)
            pattern.append(f"(?P<{part}>.*?)")
    match = re.fullmatch("".join(pattern), deployed_text, re.DOTALL)
    if match is None:
        raise SubstitutionsNotFoundError(f"the deployed definition is not {CURRENT_ASL.name} with its placeholders filled in")
    return match.groupdict()


def _with_threshold(registry: str, threshold: int) -> str:
    """The ``Registry`` substitution with the current default failure threshold replaced by ``threshold``.

    The substitution is the registry's JSON escaped into a JSONata literal inside the definition's JSON
    (``circuit_breaker.cdk.construct.registry_substitution``): its quotes read ``\\"``. Only callees that
    kept the default change; a callee that set its own threshold keeps it.
    """
    key = re.escape('\\"failureThreshold\\":')
    changed, count = re.subn(rf"({key}){CalleeSettings.failure_threshold}(?=[,}}])", rf"\g<1>{threshold}", registry)
    if not count:
        raise SubstitutionsNotFoundError("no callee in the deployed registry has the default failure threshold")
    return changed


def deploy_previous(breaker: Breaker) -> str:
    """Deploy the workflow before issue 9 beside the current one (same table, callees, logs); returns its ARN."""
    described = breaker.sfn.describe_state_machine(stateMachineArn=breaker.engine.deployment().state_machine_arn)
    substitutions = deployed_substitutions(CURRENT_ASL.read_text(), described["definition"])
    substitutions["Registry"] = _with_threshold(substitutions["Registry"], PREVIOUS_FAILURE_THRESHOLD)
    return breaker.sfn.create_state_machine(
        name=f"circuit-breaker-before-issue-9-{uuid.uuid4().hex[:6]}",
        definition=substitute_definition(PREVIOUS_ASL.read_text(), substitutions),
        roleArn=described["roleArn"],
        type="EXPRESS",
        loggingConfiguration=described["loggingConfiguration"],
    )["stateMachineArn"]
