#!/usr/bin/env python3
"""CDK app entry: the sample circuit-breaker deployment (see stacks/sample_stack.py)."""

from circuit_breaker.cdk.node import use_supported_node

use_supported_node()  # jsii needs Node.js 22 or 24: the virtualenv's, even when it is not activated

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from circuit_breaker.core.registry import DEFAULT_STACK_NAME  # noqa: E402
from stacks.sample_stack import CircuitBreakerSampleStack  # noqa: E402

app = cdk.App()
# AWS Solutions security checks run on every synth; a finding fails `cdk synth` and `make test`.
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
CircuitBreakerSampleStack(app, DEFAULT_STACK_NAME, description="Serverless circuit breaker (Step Functions Express) with sample callees")
app.synth()
