#!/usr/bin/env python3
"""CDK app entry: the sample circuit-breaker deployment (see stacks/sample_stack.py)."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from circuit_breaker.core.registry import DEFAULT_STACK_NAME
from stacks.sample_stack import CircuitBreakerSampleStack

app = cdk.App()
# AWS Solutions security checks run on every synth; a finding fails `cdk synth` and `make test`.
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
CircuitBreakerSampleStack(app, DEFAULT_STACK_NAME, description="Serverless circuit breaker (Step Functions Express) with sample callees")
app.synth()
