"""What marks a throw-away end-to-end stack (``make e2e``, ``make e2e-aws``): its name, tag and output.

No CDK import here: the driver (``tools/e2e/``) reads these to name the stack it deploys and to recognise
it afterwards, and refuses to run against, or destroy, a stack that does not carry its marks.
"""

from __future__ import annotations

import re

#: The context key naming the e2e stack to synthesize (``cdk synth -c e2e_stack=CircuitBreakerE2E-1a2b3c4d``);
#: without it the app synthesizes the sample stack.
E2E_STACK_CONTEXT = "e2e_stack"
#: The ``cdk.json`` context block holding the e2e stack's configuration (the sample's keys, short breaks).
E2E_CONFIG_CONTEXT = "circuit_breaker_e2e"
#: Every e2e stack's name: this prefix and a short run id.
E2E_STACK_PREFIX = "CircuitBreakerE2E-"
E2E_STACK_NAME = re.compile(r"^CircuitBreakerE2E-([a-z0-9]{4,16})$")
#: The stack tag (CloudFormation applies it to the stack and every taggable resource) and the output carrying the run id.
E2E_TAG = "circuit-breaker:e2e-run"
E2E_OUTPUT_RUN = "E2ERunId"
#: The output naming the function that has the extension layer (it answers with what the extension said).
E2E_OUTPUT_EXTENSION_CHECK = "ExtensionCheckFunctionName"


class E2EStackNameError(ValueError):
    """A name that is not an e2e stack's (``CircuitBreakerE2E-`` and 4 to 16 of a-z 0-9)."""


def run_id_of(stack_name: str) -> str:
    """The run id in an e2e stack's name; raises :class:`E2EStackNameError` for any other name."""
    match = E2E_STACK_NAME.match(stack_name)
    if match is None:
        raise E2EStackNameError(
            f"{stack_name!r} is not an e2e stack's name: expected {E2E_STACK_PREFIX} and 4 to 16 of a-z 0-9 "
            f"(for example {E2E_STACK_PREFIX}1a2b3c4d)"
        )
    return match.group(1)
