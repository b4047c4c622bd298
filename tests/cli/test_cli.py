"""``breaker`` as a daily tool, against the local engine: calls, payloads, global options, errors, ``local up``."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from circuit_breaker.cli import render
from circuit_breaker.cli.app import app
from circuit_breaker.aws.local_state import LocalEndpoint
from tests.conftest import Breaker, free_port, run_cli

breaker_cli = run_cli


def executions_of(breaker: Breaker) -> set[str]:
    arn = breaker.engine.deployment().state_machine_arn
    return {e["executionArn"] for e in breaker.sfn.list_executions(stateMachineArn=arn)["executions"]}


def test_call_prints_the_callee_answer(endpoint: str, breaker: Breaker) -> None:
    code, out, err = breaker_cli(endpoint, "call", "echo", "--payload", '{"order": 7, "q": "a \\"b\\""}')
    assert code == 0, err
    assert json.loads(out) == {"order": 7, "q": 'a "b"'}
    assert "execution arn:aws:states:" in err


@pytest.mark.parametrize("form", ["file://{}", "@{}"])
def test_call_reads_the_payload_from_a_file(endpoint: str, breaker: Breaker, tmp_path: Path, form: str) -> None:
    payload = tmp_path / "event.json"
    payload.write_text('{"from": "file"}')
    code, out, _ = breaker_cli(endpoint, "call", "echo", "--payload", form.format(payload), "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["output"] == {"from": "file"} and answer["status"] == "SUCCEEDED"
    assert answer["executionArn"] in executions_of(breaker)


def test_call_reads_the_payload_from_stdin(endpoint: str, breaker: Breaker) -> None:
    result = CliRunner().invoke(app, ["--endpoint-url", endpoint, "call", "echo", "-p", "-"], input='{"from": "stdin"}')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"from": "stdin"}


def test_a_failed_call_shows_the_callee_error_not_its_raw_json(endpoint: str, breaker: Breaker) -> None:
    code, out, err = breaker_cli(endpoint, "call", "flaky", "--payload", '{"fail": true, "message": "card expired"}')
    assert code == 1 and out == ""
    assert "CircuitBreaker.CalleeFailed" in err and "flaky failed with FlakyError: card expired" in err
    assert "stackTrace" not in err and "errorMessage" not in err and "requestId" not in err
    assert "execution arn:aws:states:" in err


def test_a_failed_call_as_json_names_its_execution(endpoint: str, breaker: Breaker) -> None:
    code, out, _ = breaker_cli(endpoint, "--json", "call", "flaky", "--payload", '{"fail": true}')
    assert code == 1
    document = json.loads(out)
    assert document["status"] == "FAILED" and document["error"] == "CircuitBreaker.CalleeFailed"
    assert document["cause"]["callee"] == "flaky" and document["executionArn"] in executions_of(breaker)


def test_an_unknown_callee_starts_no_execution(endpoint: str, breaker: Breaker) -> None:
    before = executions_of(breaker)
    code, out, err = breaker_cli(endpoint, "call", "nosuch", "--json")
    assert code == 2 and out == ""
    assert "callee 'nosuch' is not registered" in err and "echo" in err and "no execution was started" in err
    assert executions_of(breaker) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["call", "echo", "--payload", "{not json"], "--payload is not valid JSON"),
        (["call", "echo", "--payload", "@/no/such/file.json"], "cannot read the payload file"),
        (["call", "echo", "--payload", "file:///no/such/file.json"], "cannot read the payload file"),
        (["call", "  "], "the callee name is empty"),
        (["call", "a b"], "callee name 'a b' is not valid"),
        (["status", ""], "the callee name is empty"),
        (["--stack", "NoSuchStack", "call", "echo"], "no stack NoSuchStack"),
        (["--state-machine-arn", "arn:aws:states:us-east-1:123456789012:stateMachine:gone", "status"], "no state machine"),
    ],
)
def test_bad_arguments_are_explained(endpoint: str, breaker: Breaker, args: list[str], says: str) -> None:
    code, out, err = breaker_cli(endpoint, *args)
    assert code == 2 and out == ""
    assert says in err
    assert "Traceback" not in err


def test_a_negative_depth_is_refused_by_the_cli(endpoint: str) -> None:
    code, _, err = breaker_cli(endpoint, "call", "echo", "--depth", "-1")
    assert code == 2 and "greater than or equal to 0" in err


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("breaker 0.")


def test_global_options_go_before_or_after_the_subcommand(endpoint: str, breaker: Breaker) -> None:
    runner = CliRunner()
    after = runner.invoke(app, ["status", "echo", "--endpoint-url", endpoint, "--json", "--stack", "CircuitBreaker"])
    before = runner.invoke(app, ["--endpoint-url", endpoint, "--json", "--stack", "CircuitBreaker", "status", "echo"])
    assert after.exit_code == before.exit_code == 0, after.stderr + before.stderr
    assert json.loads(after.stdout)[0]["state"] == json.loads(before.stdout)[0]["state"] == "CLOSED"
    # a value that looks like a global option stays the command's
    result = runner.invoke(app, ["call", "echo", "--endpoint-url", endpoint, "--payload", '"--json"'])
    assert result.exit_code == 0 and json.loads(result.stdout) == "--json"


def test_local_follows_the_endpoint_local_up_recorded(endpoint: str, breaker: Breaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKER_STATE_DIR", str(tmp_path))
    LocalEndpoint(endpoint, "us-east-1", os.getpid(), "CircuitBreaker").write()
    result = CliRunner().invoke(app, ["call", "echo", "--local", "-p", '{"via": "state file"}'])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"via": "state file"}
    dead = LocalEndpoint("http://127.0.0.1:1", "us-east-1", 2**22 + 7, None)
    dead.write()
    assert LocalEndpoint.current() is None  # its process is gone: --local falls back to the default port


@pytest.mark.parametrize(
    ("environment", "says"),
    [
        ({"AWS_PROFILE": "nope"}, "AWS profile 'nope' is not configured"),
        ({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": None, "AWS_DEFAULT_REGION": "eu-west-1"}, "incomplete AWS credentials"),
        ({"AWS_DEFAULT_REGION": None, "AWS_REGION": None}, "no AWS region configured"),
    ],
)
def test_aws_configuration_errors_in_one_line(tmp_path: Path, environment: dict[str, str | None], says: str) -> None:
    isolated = {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_ENDPOINT_URL": None}
    result = CliRunner().invoke(app, ["status"], env={**isolated, **environment})
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr


def test_nothing_listening_is_explained() -> None:
    port = free_port()
    result = CliRunner().invoke(app, ["--endpoint-url", f"http://127.0.0.1:{port}", "call", "echo"])
    assert result.exit_code == 2
    assert f"nothing answers at http://127.0.0.1:{port}" in result.stderr and "breaker local up" in result.stderr


def test_unreachable_aws_is_explained_without_none(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_MAX_ATTEMPTS="1", AWS_EC2_METADATA_DISABLED="true",
                       AWS_CONFIG_FILE=str(tmp_path / "c"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "circuit_breaker", "--region", "xx-nowhere-1", "status"],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "cannot reach https://" in done.stderr and "xx-nowhere-1" in done.stderr
    assert "None" not in done.stderr and "Traceback" not in done.stderr


def test_times_are_dates_for_people_and_epoch_seconds_in_json(endpoint: str, breaker: Breaker) -> None:
    until = int(time.time()) + 42
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300)
    code, out, _ = breaker_cli(endpoint, "status", "echo")
    shown = time.strftime("%H:%M:%S", time.gmtime(until))
    assert code == 0 and re.search(rf"{shown} UTC \(in \d+ s\)", out), out
    code, out, _ = breaker_cli(endpoint, "status", "echo", "--json")
    assert json.loads(out)[0]["retry_after"] == until
    code, _, err = breaker_cli(endpoint, "call", "echo")
    assert code == 1 and re.search(rf"retry after {shown} UTC \(in \d+ s\)", err), err


def test_output_is_never_wrapped_and_status_links_to_history(endpoint: str, breaker: Breaker) -> None:
    failed = breaker.call("flaky", {"fail": True, "message": "x" * 300})
    result = CliRunner().invoke(app, ["--endpoint-url", endpoint, "status", "flaky"], env={"COLUMNS": "40"})
    assert result.exit_code == 0
    assert any(line.split() == ["flaky", failed.arn] for line in result.stdout.splitlines()), result.stdout
    listed = CliRunner().invoke(app, ["--endpoint-url", endpoint, "executions", "--since", "1m"], env={"COLUMNS": "40"})
    assert any(failed.arn in line for line in listed.stdout.splitlines()), listed.stdout
    code, out, _ = breaker_cli(endpoint, "history", failed.arn)
    assert code == 0 and failed.arn in out and "Call callee" in out


def test_the_spinner_shows_only_on_a_terminal_for_long_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "SPINNER_DELAY_SECONDS", 0.01)
    terminal, pipe = io.StringIO(), io.StringIO()
    with render.progress(Console(file=terminal, force_terminal=True), "calling echo [/]"):
        time.sleep(0.2)
    with render.progress(Console(file=pipe, force_terminal=False), "calling echo"):
        time.sleep(0.05)
    assert "calling echo [/]" in terminal.getvalue() and pipe.getvalue() == ""
    quick = io.StringIO()
    monkeypatch.setattr(render, "SPINNER_DELAY_SECONDS", 5)
    with render.progress(Console(file=quick, force_terminal=True), "quick"):
        pass
    assert "quick" not in quick.getvalue()


def test_local_up_serves_follows_and_cleans_up(assembly: Path, tmp_path: Path) -> None:
    """``local up`` deploys into the clients' region, records its port for --local, and leaves no temporary file behind."""
    port = free_port()
    scratch, state = tmp_path / "tmp", tmp_path / "state"
    scratch.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(TMPDIR=str(scratch), BREAKER_STATE_DIR=str(state), AWS_DEFAULT_REGION="eu-west-1",
                       AWS_CONFIG_FILE=str(tmp_path / "c"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"))  # fmt: skip
    cli = [sys.executable, "-m", "circuit_breaker"]
    server = subprocess.Popen(
        [*cli, "local", "up", "--port", str(port), "--assembly", str(assembly)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
    )  # fmt: skip
    try:
        ready = ""
        deadline = time.monotonic() + 120
        for line in server.stdout:
            ready += line
            if "local engine ready" in line or time.monotonic() > deadline:
                break
        assert f"at http://127.0.0.1:{port} (region eu-west-1" in ready, ready
        recorded = LocalEndpoint.current(state / "local-engine.json")
        assert recorded is not None and recorded.endpoint_url == f"http://127.0.0.1:{port}" and recorded.region == "eu-west-1"
        call = subprocess.run([*cli, "--local", "call", "echo", "-p", '{"via": "http"}', "--json"], capture_output=True, text=True, env=environment, timeout=60)
        assert call.returncode == 0, call.stderr
        answer = json.loads(call.stdout)
        assert answer["output"] == {"via": "http"} and answer["executionArn"].startswith("arn:aws:states:eu-west-1:")
        busy = subprocess.run([*cli, "local", "up", "--port", str(port), "--assembly", str(tmp_path)], capture_output=True, text=True, env=environment, timeout=60)
        assert busy.returncode == 2 and "already in use" in busy.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert not (state / "local-engine.json").exists()
    assert list(scratch.iterdir()) == []
