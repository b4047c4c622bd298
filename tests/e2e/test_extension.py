"""The extension inside real Lambda: a function that has the layer asks it about circuits, and it answers.

The e2e stack's ``extension_check`` function (``lambdas/extension_check/``) has the extension layer and reads
every callee's circuit with no cache, and answers with what the extension said on ``localhost``.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.e2e.target import Target

pytestmark = [pytest.mark.e2e, pytest.mark.aws_only(reason="the local engine does not run Lambda extensions beside its functions")]


def ask(target: Target, callee: str) -> dict[str, Any]:
    answer = target.client("lambda").invoke(FunctionName=target.outputs["ExtensionCheckFunctionName"], Payload=json.dumps({"callee": callee}))
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_the_extension_answers_a_function_that_has_the_layer(target: Target, fresh: Callable[[str], str]) -> None:
    callee = fresh("echo-isolate")

    closed = ask(target, callee)
    assert "circuit-breaker" in closed["extensions"]
    assert closed["status"] == 200, closed
    assert (closed["body"]["callee"], closed["body"]["state"], closed["body"]["allowed"]) == (callee, "CLOSED", True)

    target.cli("isolate", callee, "--reason", "e2e: extension")
    isolated = ask(target, callee)["body"]
    assert (isolated["state"], isolated["allowed"], isolated["isolated"], isolated["reason"]) == ("ISOLATED", False, True, "e2e: extension")

    unknown = ask(target, "nosuch")
    assert unknown["status"] == 404 and unknown["body"]["error"] == "UnknownCallee"
    assert set(unknown["body"]["registered"]) == set(target.callees)
