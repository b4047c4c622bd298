#!/usr/bin/env python3
"""CDK app entry: the sample circuit-breaker deployment (see stacks/sample_stack.py), or with
``-c e2e_stack=CircuitBreakerE2E-<run id>`` the end-to-end suite's throw-away stack (stacks/e2e_stack.py)."""

from circuit_breaker.cdk.node import use_supported_node

use_supported_node()  # jsii needs Node.js 22 or 24: the virtualenv's, even when it is not activated

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from circuit_breaker.core.registry import DEFAULT_STACK_NAME  # noqa: E402
from stacks.e2e import E2E_STACK_CONTEXT  # noqa: E402

app = cdk.App()
# AWS Solutions security checks run on every synth; a finding fails `cdk synth` and `make test`.
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
e2e_stack = app.node.try_get_context(E2E_STACK_CONTEXT)
if e2e_stack is None:
    from stacks.sample_stack import CircuitBreakerSampleStack

    CircuitBreakerSampleStack(app, DEFAULT_STACK_NAME, description="Serverless circuit breaker (Step Functions Express) with sample callees")
else:
    from stacks.e2e_stack import CircuitBreakerE2EStack

    CircuitBreakerE2EStack(app, str(e2e_stack), description="Circuit breaker end-to-end run (throw-away: `make e2e-aws` destroys it)")
app.synth()
