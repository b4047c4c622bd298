"""The throw-away stack of the end-to-end suite: the sample deployment with short settings, marked as an e2e run's.

``make e2e`` and ``make e2e-aws`` (``tools/e2e/``) synthesize it with ``-c e2e_stack=CircuitBreakerE2E-<run id>``.
It reads its configuration from the ``circuit_breaker_e2e`` block of ``cdk.json`` (short breaks, leases and
backoff, so the suite waits seconds, not minutes), adds one function that has the extension layer (what the
extension answers inside real Lambda), and carries its run id as a stack tag and an output: the driver refuses
to run against, or destroy, a stack without them.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Tags
from constructs import Construct

from stacks.e2e import E2E_CONFIG_CONTEXT, E2E_OUTPUT_EXTENSION_CHECK, E2E_OUTPUT_RUN, E2E_TAG, run_id_of
from stacks.sample_stack import CircuitBreakerSampleStack

#: The function with the extension layer (``lambdas/extension_check/``).
EXTENSION_CHECK = "extension_check"


class CircuitBreakerE2EStack(CircuitBreakerSampleStack):
    """The sample stack configured by ``circuit_breaker_e2e``, with an extension check and its run's marks."""

    context_key = E2E_CONFIG_CONTEXT

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        run_id = run_id_of(construct_id)
        super().__init__(scope, construct_id, **kwargs)
        checker = self._sample_function(
            EXTENSION_CHECK, self.powertools, self.retention,
            description="End-to-end check: answers with what the circuit-breaker extension beside it says",
        )  # fmt: skip
        checker.add_layers(self.breaker.extension_layer)
        # Every read goes to the table (no cache), so an isolation shows in the extension's next answer.
        self.breaker.grant_read_circuits(checker, cache_seconds=0)
        CfnOutput(self, E2E_OUTPUT_EXTENSION_CHECK, value=checker.function_name)
        CfnOutput(self, E2E_OUTPUT_RUN, value=run_id)
        Tags.of(self).add(E2E_TAG, run_id)
