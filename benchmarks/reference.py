"""The reference sample's behaviour, deployed on the local engine for comparison (benchmarks only).

``reference_sample.asl.json`` rebuilds what AWS's sample circuit breaker (circuit-breaker-netcore-blog)
does, without its two status Lambdas: it reads the callee's record, fails fast while one has not
expired, and after a failed call writes a record that expires 20 s later, unconditionally.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from circuit_breaker.local.patches import substitute_definition
from tests.conftest import Breaker

REFERENCE_ASL = Path(__file__).resolve().parent / "reference_sample.asl.json"


def deploy_reference(breaker: Breaker, function_arn: str) -> str:
    """A reference-sample state machine (with its own table) calling ``function_arn``; returns its ARN."""
    session = breaker.engine.session()
    table = f"ReferenceCircuitStatus-{uuid.uuid4().hex[:6]}"
    session.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "ServiceName", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ServiceName", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return breaker.sfn.create_state_machine(
        name=f"reference-sample-{uuid.uuid4().hex[:6]}",
        definition=substitute_definition(REFERENCE_ASL.read_text(), {"TableName": table, "FunctionArn": function_arn}),
        roleArn="arn:aws:iam::123456789012:role/reference-sample",
        type="EXPRESS",
    )["stateMachineArn"]


def function_arn(breaker: Breaker, logical_prefix: str) -> str:
    name = breaker.engine.function_name(logical_prefix)
    return breaker.engine.session().client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
