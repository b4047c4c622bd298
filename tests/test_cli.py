"""``breaker call`` and ``breaker local up`` against the local engine, including bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from circuit_breaker.cli import app
from tests.conftest import Breaker, free_port, run_cli


breaker_cli = run_cli


def test_call_prints_the_callee_answer(endpoint: str, breaker: Breaker) -> None:
    code, out, err = breaker_cli(endpoint, "call", "echo", "--payload", '{"order": 7, "q": "a \\"b\\""}')
    assert code == 0, err
    assert json.loads(out) == {"order": 7, "q": 'a "b"'}
    assert "execution arn:aws:states:" in err


def test_call_reads_the_payload_from_a_file(endpoint: str, breaker: Breaker, tmp_path: Path) -> None:
    payload = tmp_path / "event.json"
    payload.write_text('{"from": "file"}')
    code, out, _ = breaker_cli(endpoint, "call", "echo", "--payload", f"@{payload}", "--json")
    assert code == 0 and json.loads(out) == {"from": "file"}


def test_a_failed_call_shows_the_error_and_exits_non_zero(endpoint: str, breaker: Breaker) -> None:
    code, _, err = breaker_cli(endpoint, "call", "flaky", "--payload", '{"fail": true, "message": "card expired"}')
    assert code == 1
    assert "CircuitBreaker.CalleeFailed" in err and "card expired" in err


def test_a_failed_call_as_json(endpoint: str, breaker: Breaker) -> None:
    code, out, _ = breaker_cli(endpoint, "call", "nobody", "--json")
    assert code == 1
    document = json.loads(out)
    assert document["error"] == "CircuitBreaker.UnknownCallee" and document["cause"]["callee"] == "nobody"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["call", "echo", "--payload", "{not json"], "--payload is not valid JSON"),
        (["call", "echo", "--payload", "@/no/such/file.json"], "cannot read the payload file"),
        (["call", "  "], "the callee name is empty"),
        (["--stack", "NoSuchStack", "call", "echo"], "no stack NoSuchStack"),
    ],
)
def test_bad_arguments_are_explained(endpoint: str, breaker: Breaker, args: list[str], says: str) -> None:
    code, _, err = breaker_cli(endpoint, *args)
    assert code == 2
    assert says in " ".join(err.split())


def test_a_negative_depth_is_refused_by_the_cli(endpoint: str) -> None:
    code, _, err = breaker_cli(endpoint, "call", "echo", "--depth", "-1")
    assert code == 2 and "greater than or equal to 0" in err


def test_nothing_listening_is_explained() -> None:
    result = CliRunner().invoke(app, ["--endpoint-url", f"http://127.0.0.1:{free_port()}", "call", "echo"])
    assert result.exit_code == 2
    assert "breaker local up" in result.stderr


def test_local_up_serves_a_deployed_assembly_to_other_processes(assembly: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "circuit_breaker.cli", "local", "up", "--port", str(port), "--assembly", str(assembly)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        deadline = time.monotonic() + 60
        for line in server.stdout:
            if "local engine ready" in line or time.monotonic() > deadline:
                break
        call = subprocess.run(
            [sys.executable, "-m", "circuit_breaker.cli", "--endpoint-url", f"http://127.0.0.1:{port}", "call", "echo", "-p", '{"via": "http"}'],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )
        assert call.returncode == 0, call.stderr
        assert json.loads(call.stdout) == {"via": "http"}
        busy = subprocess.run(
            [sys.executable, "-m", "circuit_breaker.cli", "local", "up", "--port", str(port), "--assembly", str(assembly)],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )
        assert busy.returncode == 2 and "already in use" in busy.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
