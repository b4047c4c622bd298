"""The circuit-breaker extension: the real process from the synthesized layer, a stand-in Extensions API, the engine's table.

Its answers are checked against what the workflow does with the same item (the extension must see a
circuit as the workflow acts on it), its reads are counted at the engine, and the Python client's
hook is checked end to end.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from circuit_breaker.cdk import Callee, CalleeSettings, CircuitBreaker, CircuitBreakerProps, Fallback
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.core.errors import CircuitIsolatedError, CircuitOpenError
from circuit_breaker.core.extension_api import CALLEES_ENV, DEFAULT_PORT, PORT_ENV, TABLE_ENV, decode_callees
from circuit_breaker.client.extension_reader import ExtensionReader
from circuit_breaker.local.engine import LocalEngine
from circuit_breaker.core.settings import InvalidSettingsError
from tests.conftest import Breaker, free_port
from tests.client.extension_harness import Extension, layer_dir

NAMES = ["echo", "flaky", "flaky-strict", "echo-closed", "flaky-static"]


@pytest.fixture(scope="module")
def layer(assembly: Path, template: dict[str, Any]) -> Path:
    return layer_dir(assembly, template)


@pytest.fixture(scope="module")
def _extension(layer: Path, endpoint: str, engine: LocalEngine) -> Iterator[Extension]:
    with Extension.configured(layer, endpoint, engine.deployment(), NAMES, cache_seconds=0) as running:
        running.wait_ready()
        running.circuit("flaky")
        yield running


@pytest.fixture
def extension(_extension: Extension, breaker: Breaker) -> Extension:
    """The extension with every read going to the table (cache 0 s: no state of its own between tests), ready and warm."""
    assert _extension.process.poll() is None
    return _extension


def count_requests(engine: LocalEngine, action: str) -> list[int]:
    """A counter of the engine's DynamoDB ``action`` requests from now on (the list's length)."""
    seen: list[int] = []
    engine.faults.run_before("dynamodb", action, lambda: seen.append(1), times=10**9)
    return seen


def test_the_layer_holds_an_executable_extension_and_its_own_code(layer: Path) -> None:
    launcher = layer / "extensions" / "circuit-breaker"
    assert launcher.stat().st_mode & 0o111 == 0o111 and launcher.read_text().startswith("#!/usr/bin/env python3\n")
    code = {str(p.relative_to(layer)) for p in layer.rglob("*.py")}
    assert "circuit-breaker-extension/circuit_breaker/core/record.py" in code  # the one model of the item
    assert not any(path.startswith("python/") for path in code)  # never shadows the function's own packages


def test_it_registers_for_shutdown_only_serves_and_exits_on_shutdown(layer: Path, endpoint: str, engine: LocalEngine, breaker: Breaker) -> None:
    gets = count_requests(engine, "GetItem")
    with Extension.configured(layer, endpoint, engine.deployment(), ["echo"]) as running:
        ready = running.wait_ready()
        record = running.api.record
        assert record.registered == [{"name": "circuit-breaker", "body": {"events": ["SHUTDOWN"]}}]
        assert gets == []  # nothing read at start-up: the first check reads
        assert ready < 10
        answer = running.circuit("echo")
        assert (answer["state"], answer["allowed"], answer["failOpen"]) == ("CLOSED", True, False)
        assert running.stop() == 0 and record.next_calls == 1
        assert "ready in" in running.process.stderr.read()


def _workflow_reached_the_callee(breaker: Breaker, callee: str) -> bool:
    states = breaker.call(callee, {"x": 1}).states
    return "Call callee" in states or "Call probe" in states


def _items(now: int) -> dict[str, dict[str, Any]]:
    return {
        "absent": {},
        "closed with failures": {"CircuitStatus": "CLOSED", "Failures": 2, "WindowEndsAt": now + 30, "ExpiryTimeStamp": now + 30},
        "open": {"CircuitStatus": "OPEN", "OpenUntil": now + 60, "OpenedAt": now, "ExpiryTimeStamp": now + 360},
        "open, break over": {"CircuitStatus": "OPEN", "OpenUntil": now - 1, "OpenedAt": now - 31, "ExpiryTimeStamp": now + 299},
        "open, expired": {"CircuitStatus": "OPEN", "OpenUntil": now + 60, "ExpiryTimeStamp": now - 1},
        "half-open, probe in flight": {"CircuitStatus": "HALF_OPEN", "ProbeLeaseUntil": now + 10, "ExpiryTimeStamp": now + 310},
        "half-open, lease over": {"CircuitStatus": "HALF_OPEN", "ProbeLeaseUntil": now - 1, "ExpiryTimeStamp": now + 299},
        "isolated until reset": {"CircuitStatus": "ISOLATED", "Reason": "incident 9", "IsolatedBy": "ops"},
        "isolated, ended": {"CircuitStatus": "ISOLATED", "Reason": "old", "ExpiryTimeStamp": now - 5},
        "open far beyond max_break (malformed)": {"CircuitStatus": "OPEN", "OpenUntil": now + 10**7, "ExpiryTimeStamp": now + 10**8},
        "open without OpenUntil (break counts as over)": {"CircuitStatus": "OPEN", "ExpiryTimeStamp": now + 300},
        "unknown status (malformed)": {"CircuitStatus": "MAYBE", "ExpiryTimeStamp": now + 300},
        "OpenUntil a string (malformed)": {"CircuitStatus": "OPEN", "ExpiryTimeStamp": now + 300, "OpenUntil": "soon"},
    }


@pytest.mark.parametrize("case", list(_items(0)))
def test_it_answers_as_the_workflow_acts(extension: Extension, breaker: Breaker, case: str) -> None:
    now = int(breaker.now())
    attributes = _items(now)[case]
    if attributes:
        breaker.put_item("echo", **attributes)
    answer = extension.circuit("echo")
    assert answer["allowed"] == _workflow_reached_the_callee(breaker, "echo"), answer
    assert answer["malformed"] == ("malformed" in case), answer
    if not answer["allowed"]:
        expected = {"open": now + 60, "half-open, probe in flight": now + 10, "isolated until reset": None}[case]
        assert answer["retryAfter"] == expected
        assert answer["isolated"] == (case == "isolated until reset")
        assert answer["reason"] == ("incident 9" if answer["isolated"] else None)


def test_reads_are_one_getitem_per_callee_per_cache_period(layer: Path, endpoint: str, engine: LocalEngine, breaker: Breaker) -> None:
    gets, scans = count_requests(engine, "GetItem"), count_requests(engine, "Scan")
    with Extension.configured(layer, endpoint, engine.deployment(), NAMES, cache_seconds=2) as running:
        running.wait_ready()
        started = time.monotonic()
        for _ in range(20):
            assert running.circuit("echo")["state"] == "CLOSED"
            running.circuit("flaky")
        assert time.monotonic() - started < 2, "too slow to stay within one cache period"
        assert (len(gets), scans) == (2, [])  # only the callees asked about; never a Scan
        now = int(breaker.now())
        breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=now + 60, OpenedAt=now, ExpiryTimeStamp=now + 360)
        cached = running.circuit("echo")
        assert cached["state"] == "CLOSED"  # until the cache period ends
        time.sleep(max(0.0, 2.05 - cached["ageSeconds"]))
        assert running.circuit("echo")["state"] == "OPEN" and len(gets) == 3


def test_a_cached_open_circuit_opens_for_calls_when_its_break_ends(extension: Extension, breaker: Breaker) -> None:
    """Decoded at each answer: a break that ends while cached is over at once, as for the workflow."""
    now = time.time()
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=int(now) + 1, OpenedAt=int(now), ExpiryTimeStamp=int(now) + 301)
    reader = ExtensionReader(extension.port)
    assert reader.check("echo").allowed is False
    time.sleep(max(0.0, int(now) + 1 - time.time()) + 0.05)
    answer = reader.check("echo")
    assert (answer.state, answer.allowed, answer.probeDue) == ("OPEN", True, True)


def test_an_unreadable_table_is_answered_as_the_callee_s_on_store_error_says(extension: Extension, engine: LocalEngine) -> None:
    engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")
    opened = extension.circuit("echo")
    assert (opened["state"], opened["allowed"], opened["failOpen"]) == ("UNKNOWN", True, True)
    assert opened["storeError"].startswith("ProvisionedThroughputExceededException")
    closed = extension.circuit("echo-closed")  # on_store_error: fail
    assert (closed["allowed"], closed["failOpen"]) == (False, False)


def test_an_unknown_callee_or_path_is_a_404_naming_the_registered_ones(extension: Extension) -> None:
    status, document = extension.get("/circuits/payment")
    assert status == 404 and document["error"] == "UnknownCallee" and document["registered"] == sorted(NAMES)
    assert "registered: echo, echo-closed, flaky" in document["message"]
    assert extension.get("/")[0] == 404 and extension.get("/circuits/")[0] == 404
    assert extension.get("/circuits/echo%2Fx")[0] == 404


def _raw(extension: Extension, request: bytes) -> bytes:
    """Send ``request`` as it is on a fresh connection; everything the extension answers until it closes."""
    with socket.create_connection(("127.0.0.1", extension.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65_536):
            received += chunk
    return received


def test_every_method_but_get_is_a_json_405_and_the_connection_goes_on(extension: Extension) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", extension.port, timeout=10)
    try:
        for method in ["HEAD", "OPTIONS", "TRACE", "CONNECT", "BREW", "POST", "PUT", "DELETE", "PATCH"]:
            connection.request(method, "/circuits/echo")
            refused = connection.getresponse()
            body = refused.read()
            assert (refused.status, refused.getheader("Allow"), refused.getheader("Content-Type")) == (405, "GET", "application/json"), method
            if method == "HEAD":
                assert body == b""  # an answer to HEAD has no body
            else:
                assert json.loads(body)["error"] == "MethodNotAllowed" and method in json.loads(body)["message"]
            connection.request("GET", "/circuits/echo")  # the same connection, still in step
            answered = connection.getresponse()
            assert answered.status == 200 and json.loads(answered.read())["callee"] == "echo", method
    finally:
        connection.close()


def test_a_request_body_is_read_so_a_kept_alive_connection_is_not_misread(extension: Extension) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", extension.port, timeout=10)
    try:
        sent: list[tuple[str, str, object, bool]] = [
            ("POST", "/circuits/echo", b'GET /circuits/flaky HTTP/1.1\r\nHost: x\r\n\r\n', False),  # a body that reads like a request
            ("GET", "/circuits/flaky", b"x" * 5000, False),
            ("PUT", "/circuits/echo", iter([b"first chunk", b"second"]), True),  # Transfer-Encoding: chunked
        ]
        statuses = []
        for method, path, body, chunked in sent:
            connection.request(method, path, body=body, encode_chunked=chunked)  # type: ignore[arg-type]
            answer = connection.getresponse()
            statuses.append((answer.status, json.loads(answer.read()).get("callee")))
            connection.request("GET", "/circuits/echo")
            following = connection.getresponse()
            statuses.append((following.status, json.loads(following.read()).get("callee")))
        assert statuses == [(405, None), (200, "echo"), (200, "flaky"), (200, "echo"), (405, None), (200, "echo")]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /circuits/echo HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n", 413),
        (b"GET /circuits/echo HTTP/1.1\r\nContent-Length: 12, 13\r\n\r\n", 400),
        (b"GET /circuits/echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET /circuits/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"not an http request\r\n\r\n", 400),
        (b"GET /circuits/echo HTTP/7.0\r\n\r\n", 505),
    ],
)
def test_a_request_that_cannot_be_read_is_answered_in_json_and_the_connection_closed(
    extension: Extension, request_bytes: bytes, status: int
) -> None:
    answer = _raw(extension, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) or head.startswith(f"HTTP/1.0 {status} ".encode()), head
    assert b"Content-Type: application/json" in head and b"Connection: close" in head
    assert json.loads(body)["message"]


@pytest.mark.parametrize(
    ("environment", "says"),
    [
        ({CALLEES_ENV: '{"echo": {"maxBreakSeconds": 300, "probeLeaseSeconds": 15}}'}, "CIRCUIT_BREAKER_TABLE is not set"),
        ({TABLE_ENV: "t"}, "CIRCUIT_BREAKER_CALLEES is not set"),
        ({TABLE_ENV: "t", CALLEES_ENV: "[1]"}, "CIRCUIT_BREAKER_CALLEES is not the registry"),
        ({TABLE_ENV: "t", CALLEES_ENV: '{"echo": {"maxBreakSeconds": 300, "probeLeaseSeconds": 15}}', "CIRCUIT_BREAKER_CACHE_SECONDS": "-1"}, "CIRCUIT_BREAKER_CACHE_SECONDS must be"),
    ],
)
def test_a_configuration_mistake_is_reported_as_an_init_error(layer: Path, endpoint: str, environment: dict, says: str) -> None:
    with Extension(layer, endpoint, environment) as running:
        assert running.process.wait(20) == 1
        [error] = running.api.record.init_errors
        assert error["type"] == "Extension.ConfigInvalid" and says in error["body"]["errorMessage"]
        assert error["identifier"] is not None


def test_a_port_in_use_is_reported_naming_the_likely_other_extension_and_the_fix(layer: Path, endpoint: str) -> None:
    # two extensions of one function share its network: another one already listening on the port
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        environment = {TABLE_ENV: "t", CALLEES_ENV: '{"echo": {"maxBreakSeconds": 300, "probeLeaseSeconds": 15}}', PORT_ENV: str(port)}
        with Extension(layer, endpoint, environment) as running:
            assert running.process.wait(20) == 1
            log = running.process.stderr.read()
            [error] = running.api.record.init_errors
    message = error["body"]["errorMessage"]
    assert error["type"] == "Extension.PortUnavailable"
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "most likely by another extension of this function" in message
    assert "grant_read_circuits(fn, port=...)" in message
    assert message in log  # the function's log says it too


def test_a_port_taken_by_a_known_extension_names_it() -> None:
    import errno

    from circuit_breaker.lambdas.circuit_extension.server import unavailable

    in_use = OSError(errno.EADDRINUSE, "Address already in use")
    assert "AWS's circuit-breaker extension sample or circuitbreaker-lambda's extension" in unavailable(4243, in_use)
    assert "AWS Parameters and Secrets Lambda Extension" in unavailable(2773, in_use)
    denied = unavailable(4300, OSError(errno.EACCES, "Permission denied"))
    assert "Permission denied" in denied and "grant_read_circuits(fn, port=...)" in denied


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_the_extensions_api_client_reads_every_http_framing(framing: str) -> None:
    """The extension's own small HTTP client (no http.client: it registers before loading anything heavy)."""
    import socket
    import threading

    from circuit_breaker.lambdas.circuit_extension.lifecycle import ExtensionsApi

    body = b'{"functionName": "checkout"}'
    framed = {
        "length": b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
        "chunked": b"Transfer-Encoding: chunked\r\n\r\n" + b"a\r\n" + body[:10] + b"\r\n" + b"%x\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n",
        "close": b"\r\n" + body,
    }[framing]
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def answer() -> None:
        connection, _ = listener.accept()
        received.append(connection.recv(65536))
        connection.sendall(b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: id-7\r\n" + framed)
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    api = ExtensionsApi(f"127.0.0.1:{listener.getsockname()[1]}", "circuit-breaker")
    assert api.register(["SHUTDOWN"]) == {"functionName": "checkout"} and api.identifier == "id-7"
    request = received[0].decode()
    assert request.startswith("POST /2020-01-01/extension/register HTTP/1.1\r\n")
    assert "Lambda-Extension-Name: circuit-breaker\r\n" in request and request.endswith('\r\n\r\n{"events": ["SHUTDOWN"]}')
    listener.close()


def test_the_client_fails_fast_from_the_extension_without_an_execution(
    extension: Extension, engine: LocalEngine, breaker: Breaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PORT_ENV, str(extension.port))
    client = CircuitBreakerClient(engine.connection(), engine.deployment())
    now = int(breaker.now())
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=now + 60, OpenedAt=now, ExpiryTimeStamp=now + 360)
    breaker.put_item("flaky", CircuitStatus="ISOLATED", Reason="maintenance")
    breaker.put_item("flaky-static", CircuitStatus="OPEN", OpenUntil=now + 60, OpenedAt=now, ExpiryTimeStamp=now + 360)
    executions = _executions(breaker)
    with pytest.raises(CircuitOpenError) as opened:
        client.call("echo", {"a": 1})
    assert (opened.value.retry_after, opened.value.state, opened.value.execution_arn) == (now + 60, "OPEN", None)
    with pytest.raises(CircuitIsolatedError) as isolated:
        client.call("flaky")
    assert (isolated.value.reason, isolated.value.retry_after) == ("maintenance", None)
    assert _executions(breaker) == executions  # nothing started
    # A callee with a fallback is answered by the workflow (its fallback), and a healthy one is called.
    answered = client.call("flaky-static")
    assert answered.output["status"] == "degraded" and answered.fallback is not None
    assert client.call("echo-closed", {"b": 2}).output == {"b": 2}
    assert _executions(breaker) == executions + 2


def test_without_a_running_extension_the_client_calls_the_workflow(engine: LocalEngine, breaker: Breaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORT_ENV, str(free_port()))
    client = CircuitBreakerClient(engine.connection(), engine.deployment())
    assert client.extension is not None and client.extension.check("echo") is None
    assert client.call("echo", {"c": 3}).output == {"c": 3}
    monkeypatch.delenv(PORT_ENV)
    assert CircuitBreakerClient(engine.connection(), engine.deployment()).extension is None


def _executions(breaker: Breaker) -> int:
    arn = breaker.engine.deployment().state_machine_arn
    return len(breaker.sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"])


# -- the construct's side ------------------------------------------------------------------------------------


def _stack() -> tuple[cdk.Stack, CircuitBreaker, lambda_.Function]:
    stack = cdk.Stack(cdk.App(), "Shop", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    payment = lambda_.Function(stack, "Payment", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=code)
    breaker = CircuitBreaker(stack, "Breaker", CircuitBreakerProps(
        callees={
            "payment": Callee(payment, CalleeSettings(max_break_seconds=600, timeout_seconds=7, on_store_error="fail")),
            "stock": Callee(payment, fallback=Fallback(answer={"stock": "unknown"})),
        },
        monitoring=False,
    ))  # fmt: skip
    checkout = lambda_.Function(stack, "Checkout", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=code)
    return stack, breaker, checkout


def test_grant_read_circuits_grants_getitem_on_those_keys_and_configures_the_extension() -> None:
    stack, breaker, checkout = _stack()
    checkout.add_layers(breaker.extension_layer)
    breaker.grant_read_circuits(checkout, ["payment"], port=4300, cache_seconds=2)
    template = cdk.assertions.Template.from_stack(stack).to_json()
    function = next(r for k, r in template["Resources"].items() if k.startswith("Checkout") and r["Type"] == "AWS::Lambda::Function")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[PORT_ENV] == "4300" and variables["CIRCUIT_BREAKER_CACHE_SECONDS"] == "2"
    assert variables[TABLE_ENV] == {"Ref": next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table")}
    [entry] = decode_callees(variables[CALLEES_ENV]).items()
    assert entry[0] == "payment" and (entry[1].max_break_seconds, entry[1].probe_lease_seconds, entry[1].on_store_error) == (600, 12, "fail")
    policy = next(r for k, r in template["Resources"].items() if k.startswith("CheckoutServiceRoleDefaultPolicy"))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [{
        "Action": "dynamodb:GetItem", "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [variables[TABLE_ENV]["Ref"], "Arn"]},
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["payment"]}},
    }]  # fmt: skip
    [layer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert set(layer["Properties"]["CompatibleRuntimes"]) == {"python3.11", "python3.12", "python3.13", "python3.14"}


def test_grant_read_circuits_marks_a_callee_with_a_fallback() -> None:
    stack, breaker, checkout = _stack()
    breaker.grant_read_circuits(checkout)
    variables = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]
    checkout_function = next(r for k, r in variables.items() if k.startswith("Checkout") and r["Type"] == "AWS::Lambda::Function")
    callees = decode_callees(checkout_function["Properties"]["Environment"]["Variables"][CALLEES_ENV])
    assert (callees["payment"].fallback, callees["stock"].fallback) == (False, True)
    assert checkout_function["Properties"]["Environment"]["Variables"][PORT_ENV] == str(DEFAULT_PORT)


def test_the_default_port_is_no_other_known_extension_s() -> None:
    # 4243 is AWS's circuit-breaker extension sample's and circuitbreaker-lambda's: two such layers would collide
    from circuit_breaker.lambdas.circuit_extension.server import KNOWN_LISTENERS

    assert DEFAULT_PORT not in KNOWN_LISTENERS and 4243 in KNOWN_LISTENERS


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"callees": ["payment", "nosuch"]}, "'nosuch' is not registered; registered: payment, stock"),
        ({"callees": []}, "name at least one callee"),
        ({"port": 80}, "port must be from 1024 to 65535"),
        ({"cache_seconds": -1}, "cache_seconds must be from 0 to 3600"),
    ],
)
def test_grant_read_circuits_refuses_what_would_not_work(arguments: dict, says: str) -> None:
    _, breaker, checkout = _stack()
    with pytest.raises(InvalidSettingsError, match="grant_read_circuits") as raised:
        breaker.grant_read_circuits(checkout, **arguments)
    assert says in str(raised.value)


def test_grant_read_circuits_needs_a_function_it_can_configure() -> None:
    stack, breaker, _ = _stack()
    imported = lambda_.Function.from_function_arn(stack, "Imported", "arn:aws:lambda:eu-west-1:123456789012:function:other")
    with pytest.raises(InvalidSettingsError, match="needs a lambda_.Function defined in this app"):
        breaker.grant_read_circuits(imported)


def test_the_answer_document_is_the_documented_one(extension: Extension) -> None:
    assert set(extension.circuit("echo")) == {
        "callee", "state", "allowed", "retryAfter", "isolated", "reason", "probeDue", "malformed", "problems",
        "fallback", "failOpen", "storeError", "ageSeconds", "key", "rampShare",
    }
    assert json.loads(json.dumps(extension.circuit("flaky-static")))["fallback"] is True
