"""Lambda handlers run in-process as the Python runtime runs them: context, environment, errors, timeouts."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import zipfile

import pytest

from circuit_breaker.local.lambda_runtime import (
    FunctionSpec,
    InvalidClientContextError,
    LambdaRuntime,
    decode_client_context,
)

CODE = '''
import os, time

SETTING_AT_INIT = os.environ.get("SETTING")

class PaymentDeclined(Exception):
    pass

def handler(event, context):
    print("handling", event.get("n"))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("raise"):
        raise PaymentDeclined("card expired")
    if event.get("unserialisable"):
        return {"when": object()}
    custom = context.client_context.custom if context.client_context else None
    return {
        "init": SETTING_AT_INIT,
        "now": os.environ.get("SETTING"),
        "name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "custom": custom,
        "request": context.aws_request_id,
        "memory": context.memory_limit_in_mb,
        "n": event.get("n"),
    }
'''


def package(source: str = CODE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def spec(name: str, setting: str, timeout: float = 3, handler: str = "index.handler") -> FunctionSpec:
    return FunctionSpec(
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=handler,
        code_zip=package(),
        environment={"SETTING": setting},
        timeout_seconds=timeout,
        memory_mb=512,
    )


@pytest.fixture(scope="module")
def runtime() -> LambdaRuntime:
    return LambdaRuntime()


def test_a_handler_gets_its_function_environment_and_context(runtime: LambdaRuntime) -> None:
    client_context = decode_client_context(base64.b64encode(json.dumps({"custom": {"breakerDepth": 3}}).encode()).decode())
    outcome = runtime.invoke(spec("alpha", "A"), {"n": 1}, client_context)
    assert outcome.function_error is None
    answer = json.loads(outcome.payload)
    assert answer["init"] == "A" and answer["now"] == "A" and answer["name"] == "alpha"
    assert answer["custom"] == {"breakerDepth": 3}
    assert answer["request"] == outcome.request_id and answer["memory"] == 512
    assert "handling 1" in outcome.log and outcome.log.startswith("START RequestId:")


def test_concurrent_functions_see_only_their_own_environment(runtime: LambdaRuntime) -> None:
    specs = [spec("alpha", "A"), spec("beta", "B")]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: (i % 2, runtime.invoke(specs[i % 2], {"n": i, "sleep": 0.05})), range(16)))
    for which, outcome in results:
        assert json.loads(outcome.payload)["now"] == "AB"[which]


def test_an_exception_comes_back_as_the_runtime_reports_it(runtime: LambdaRuntime) -> None:
    outcome = runtime.invoke(spec("alpha", "A"), {"raise": True})
    assert outcome.function_error == "Unhandled"
    error = json.loads(outcome.payload)
    assert error["errorType"] == "PaymentDeclined" and error["errorMessage"] == "card expired"
    assert any("raise PaymentDeclined" in line for line in error["stackTrace"])
    assert not any("lambda_runtime.py" in line for line in error["stackTrace"])


def test_the_function_timeout_is_enforced(runtime: LambdaRuntime) -> None:
    outcome = runtime.invoke(spec("slow", "S", timeout=0.3), {"sleep": 2})
    assert outcome.function_error == "Unhandled"
    error = json.loads(outcome.payload)
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.3" in error["errorMessage"]


def test_an_unserialisable_answer_is_a_marshal_error(runtime: LambdaRuntime) -> None:
    error = json.loads(runtime.invoke(spec("alpha", "A"), {"unserialisable": True}).payload)
    assert error["errorType"] == "Runtime.MarshalError"


ANSWERS = """
import collections, decimal

Point = collections.namedtuple("Point", "x y")

class Order:
    pass

def handler(event, context):
    return {
        "set": {"ids": {1, 2}},
        "object": [Order()],
        "circular": (lambda d: (d.__setitem__("self", d), d)[1])({}),
        "undecodable": {"raw": b"\\xff"},
        "decimal": {"price": decimal.Decimal("19.990"), "big": decimal.Decimal("1E+400"), "nan": decimal.Decimal("NaN")},
        "bytes inside": {"body": b"caf\\xc3\\xa9"},
        "namedtuple": Point(1, 2),
        "bytes": b"not json",
    }[event]
"""


@pytest.fixture(scope="module")
def answers() -> FunctionSpec:
    return FunctionSpec(**{**spec("answers", "x").__dict__, "code_zip": package(ANSWERS), "runtime": "python3.13"})


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ("set", "Object of type set is not JSON serializable"),
        ("object", "Object of type Order is not JSON serializable"),
        ("circular", "Circular reference detected"),
        ("undecodable", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    ],
)
def test_an_answer_json_cannot_hold_is_the_runtimes_marshal_error(runtime: LambdaRuntime, answers: FunctionSpec, event: str, why: str) -> None:
    # awslambdaric's marshaller: "Unable to marshal response: <the encoder's message>", posted as an invocation error
    outcome = runtime.invoke(answers, event)
    assert outcome.function_error == "Unhandled"
    assert json.loads(outcome.payload) == {
        "errorMessage": f"Unable to marshal response: {why}",
        "errorType": "Runtime.MarshalError",
        "requestId": outcome.request_id,
        "stackTrace": [],
    }
    assert f"[ERROR] Runtime.MarshalError: Unable to marshal response: {why}" in outcome.log


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        # the runtime encodes with simplejson: a Decimal (a DynamoDB number through boto3) is written with its digits
        ("decimal", b'{"price": 19.990, "big": 1E+400, "nan": NaN}'),
        # bytes inside the answer are read as UTF-8 text; a namedtuple is an object
        ("bytes inside", b'{"body": "caf\\u00e9"}'),
        ("namedtuple", b'{"x": 1, "y": 2}'),
        # bytes as the whole answer are posted as they are (content type application/unknown), JSON or not
        ("bytes", b"not json"),
    ],
)
def test_an_answer_is_encoded_as_the_python_runtime_encodes_it(runtime: LambdaRuntime, answers: FunctionSpec, event: str, payload: bytes) -> None:
    outcome = runtime.invoke(answers, event)
    assert (outcome.function_error, outcome.payload) == (None, payload)


def test_the_python_312_runtime_writes_non_ascii_unescaped(runtime: LambdaRuntime, answers: FunctionSpec) -> None:
    on_312 = FunctionSpec(**{**answers.__dict__, "runtime": "python3.12"})
    assert runtime.invoke(on_312, "bytes inside").payload == '{"body": "café"}'.encode()


def test_a_missing_handler_is_an_import_error(runtime: LambdaRuntime) -> None:
    error = json.loads(runtime.invoke(spec("alpha", "A", handler="missing.handler"), {}).payload)
    assert error["errorType"] == "Runtime.ImportModuleError"


def test_invocations_are_counted_per_function(runtime: LambdaRuntime) -> None:
    before = runtime.invocations("counted")
    for _ in range(3):
        runtime.invoke(spec("counted", "C"), {})
    assert runtime.invocations("counted") == before + 3


@pytest.mark.parametrize("header", ["not base64!", base64.b64encode(b"[1]").decode(), base64.b64encode(b"{oops").decode()])
def test_a_bad_client_context_is_refused(header: str) -> None:
    with pytest.raises(InvalidClientContextError):
        decode_client_context(header)


UNUSUAL = """
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text for you")

def handler(event, context):
    if event == "bytes":
        return b'"raw"'
    if event == "nan":
        return float("nan")
    if event == "unprintable":
        raise Unprintable()
    raise ValueError("plain")
"""


def test_the_runtime_reports_errors_and_answers_as_the_python_runtime_does() -> None:
    runtime = LambdaRuntime()
    unusual = spec("unusual", "x")
    unusual = FunctionSpec(**{**unusual.__dict__, "code_zip": package(UNUSUAL)})
    # bytes are handed back unencoded; NaN is written as the runtime's encoder writes it
    assert runtime.invoke(unusual, "bytes").payload == b'"raw"'
    assert runtime.invoke(unusual, "nan").payload == b"NaN"
    # a stack trace names the package's files under /var/task, each frame ending with a newline
    error = json.loads(runtime.invoke(unusual, "plain").payload)
    assert error["errorType"] == "ValueError"
    assert error["stackTrace"][0].startswith('  File "/var/task/index.py"') and error["stackTrace"][0].endswith("\n")
    # an exception that cannot be turned into text crashes the runtime: Lambda answers Runtime.ExitError
    crashed = runtime.invoke(unusual, "unprintable")
    assert crashed.function_error == "Unhandled"
    assert json.loads(crashed.payload)["errorType"] == "Runtime.ExitError"


def test_a_runtime_removes_the_packages_it_unpacked_when_closed(tmp_path) -> None:
    from circuit_breaker.local.lambda_runtime import LambdaRuntime

    own = LambdaRuntime()
    folder = own._work_dir
    assert folder.exists()
    own.close()
    assert not folder.exists()
    given = LambdaRuntime(tmp_path)
    given.close()
    assert tmp_path.exists()  # a folder it was given is not its to remove
