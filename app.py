#!/usr/bin/env python3
"""CDK app entry: the sample circuit-breaker deployment (see stacks/sample_stack.py)."""

import aws_cdk as cdk

from circuit_breaker.deployment import DEFAULT_STACK_NAME
from stacks.sample_stack import CircuitBreakerSampleStack

app = cdk.App()
CircuitBreakerSampleStack(app, DEFAULT_STACK_NAME, description="Serverless circuit breaker (Step Functions Express) with sample callees")
app.synth()
