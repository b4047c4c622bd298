"""Operator commands against the local engine: status, isolate, reset, executions, history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from circuit_breaker.operate.executions import HistoryExecutions, LogExecutions
from circuit_breaker.local.event_capture import EventCapture
from tests.conftest import Breaker, run_cli


def test_status_lists_every_registered_circuit(endpoint: str, breaker: Breaker) -> None:
    breaker.call("flaky", {"fail": True, "message": "db down"})
    until = int(breaker.now()) + 90
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, LastError="Boom: x")
    code, out, _ = run_cli(endpoint, "status", "--json")
    assert code == 0
    views = {v["callee"]: v for v in json.loads(out)}
    assert set(views) >= {"echo", "flaky", "inspector"}
    assert views["flaky"]["state"] == "CLOSED" and views["flaky"]["failures"] == 4  # one count per failed attempt
    assert "db down" in views["flaky"]["last_error"]
    assert views["echo"]["state"] == "OPEN" and views["echo"]["open_until"] == until
    assert views["inspector"] == {**views["inspector"], "state": "CLOSED", "failures": None, "registered": True}
    code, out, _ = run_cli(endpoint, "status")
    assert code == 0 and "OPEN" in out and "echo" in out


def test_status_of_one_callee(endpoint: str, breaker: Breaker) -> None:
    code, out, _ = run_cli(endpoint, "status", "echo", "--json")
    assert code == 0 and [v["state"] for v in json.loads(out)] == ["CLOSED"]


def test_isolate_holds_the_circuit_open_until_reset(endpoint: str, breaker: Breaker, transitions: EventCapture) -> None:
    code, out, err = run_cli(endpoint, "isolate", "echo", "--reason", "incident 42", "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["state"] == "ISOLATED" and view["reason"] == "incident 42" and view["expires_at"] is None
    assert view["isolated_by"].startswith("arn:aws:")  # the caller's identity
    outcome = breaker.call("echo", {"a": 1})
    assert outcome.error == "CircuitBreaker.CircuitIsolated" and outcome.cause["reason"] == "incident 42"

    code, _, err = run_cli(endpoint, "isolate", "echo", "--reason", "again")
    assert code == 2 and "already isolated" in err and "breaker reset echo" in " ".join(err.split())

    code, out, _ = run_cli(endpoint, "reset", "echo")
    assert code == 0 and "closed" in out
    assert breaker.call("echo", {"a": 2}).output == {"a": 2}
    events = transitions.drain()
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in events] == [("CLOSED", "ISOLATED"), ("ISOLATED", "CLOSED")]
    assert events[0]["detail"]["actor"] == view["isolated_by"] and events[0]["detail"]["executionArn"] is None
    assert events[0]["detail"]["reason"] == "isolated by an operator: incident 42"


def test_an_isolation_for_a_while_ends_by_itself(endpoint: str, breaker: Breaker) -> None:
    code, out, _ = run_cli(endpoint, "isolate", "flaky", "--reason", "deploy", "--for", "120", "--json")
    assert code == 0
    expires = json.loads(out)["expires_at"]
    assert 118 <= expires - breaker.now() <= 121
    assert breaker.call("flaky").cause["retryAfter"] == expires


def test_reset_closes_an_open_circuit_and_clears_counters(endpoint: str, breaker: Breaker, transitions: EventCapture) -> None:
    breaker.call("flaky-once", {"fail": True})
    assert breaker.item("flaky-once")["Failures"] == 2
    code, out, _ = run_cli(endpoint, "reset", "flaky-once", "--json")
    assert code == 0
    view = json.loads(out)
    assert view["changed"] is True and view["state"] == "CLOSED" and view["failures"] is None
    item = breaker.item("flaky-once")
    assert item["ResetBy"].startswith("arn:aws:") and "Failures" not in item
    # the next failure starts counting from zero
    breaker.call("flaky-once", {"fail": True})
    assert breaker.item("flaky-once")["Failures"] == 2
    code, out, _ = run_cli(endpoint, "reset", "echo")
    assert code == 0 and "already closed" in out
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in transitions.drain()] == [("CLOSED", "CLOSED")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["isolate", "payment", "--reason", "x"], "callee 'payment' is not registered"),
        (["reset", "payment"], "callee 'payment' is not registered"),
        (["status", "payment"], "callee 'payment' is not registered"),
        (["isolate", "echo", "--reason", "x", "--for", "-5"], "--for must be a positive number of seconds"),
        (["isolate", "echo", "--reason", "   "], "give a reason"),
        (["history", "not-an-arn"], "is not an execution ARN"),
        (["history", "arn:aws:states:us-east-1:123456789012:execution:sm"], "is not an execution ARN"),
        (["executions", "--since", "yesterday"], "--since takes a duration"),
        (["executions", "--since", "999999d"], "--since reaches back at most 3650d"),
        (["history", "arn:aws:states:us-east-1:123456789012:express:sm:n:i", "--since", "100000000000000000000s"], "--since reaches back at most"),
        (["status", ""], "the callee name is empty"),
        (["reset", " "], "the callee name is empty"),
        (["executions", "--status", "BROKEN"], "--status must be one of"),
    ],
)
def test_bad_operator_arguments_change_nothing(
    endpoint: str, breaker: Breaker, transitions: EventCapture, args: list[str], says: str
) -> None:
    code, _, err = run_cli(endpoint, *args)
    assert code == 2
    assert says in " ".join(err.split())
    assert breaker.dynamodb.scan(TableName=breaker.table)["Items"] == []
    assert transitions.drain() == []


def test_executions_lists_recent_calls_with_filters(endpoint: str, breaker: Breaker) -> None:
    ok = breaker.call("echo", {"n": 1})
    failed = breaker.call("flaky", {"fail": True})
    code, out, _ = run_cli(endpoint, "executions", "--since", "2m", "--json")
    assert code == 0
    listed = {e["execution_arn"]: e for e in json.loads(out)}
    assert listed[ok.arn]["status"] == "SUCCEEDED" and listed[ok.arn]["callee"] == "echo"
    assert listed[failed.arn]["error"] == "CircuitBreaker.CalleeFailed"
    code, out, _ = run_cli(endpoint, "executions", "--status", "FAILED", "--callee", "flaky", "--since", "2m", "--json")
    arns = [e["execution_arn"] for e in json.loads(out)]
    assert failed.arn in arns and ok.arn not in arns
    code, out, _ = run_cli(endpoint, "executions", "--since", "2m")
    assert code == 0 and "SUCCEEDED" in out


def test_history_shows_the_path_of_an_execution(endpoint: str, breaker: Breaker) -> None:
    failed = breaker.call("flaky", {"fail": True})
    code, out, _ = run_cli(endpoint, "history", failed.arn, "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["status"] == "FAILED" and shown["error"] == "CircuitBreaker.CalleeFailed"
    calls = [s for s in shown["states"] if s["name"] == "Call callee"]
    assert len(calls) == 4 and all(call["errors"] == ["FlakyError"] for call in calls)
    code, out, _ = run_cli(endpoint, "history", failed.arn)
    assert code == 0 and "Call callee" in out


def test_the_execution_log_and_the_history_tell_the_same_story(breaker: Breaker) -> None:
    """On AWS executions come from the log group; the engine writes it as AWS does."""
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    outcomes = [breaker.call("echo", {"n": 1}), breaker.call("flaky", {"fail": True}), breaker.call("nobody")]
    deployment = breaker.engine.deployment()
    from_logs = LogExecutions(breaker.engine.session().client("logs"), deployment.log_group_name)
    from_history = HistoryExecutions(breaker.sfn, deployment.state_machine_arn)
    logged = {s.execution_arn: s for s in from_logs.list(since)}
    historic = {s.execution_arn: s for s in from_history.list(since)}
    for outcome in outcomes:
        a, b = logged[outcome.arn], historic[outcome.arn]
        assert (a.status, a.callee, a.error) == (b.status, b.callee, b.error) == (outcome.status, b.callee, outcome.error)
        assert from_logs.path(outcome.arn, since).summary() == from_history.path(outcome.arn, since).summary()


def test_status_shows_a_malformed_item_as_such(endpoint: str, breaker: Breaker) -> None:
    now = int(breaker.now())
    breaker.put_item("echo", CircuitStatus="OPEN", OpenUntil=str(now + 60), ExpiryTimeStamp=now + 600)
    breaker.put_item("flaky", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=9_999_999_999, ExpiryTimeStamp=now + 600)
    breaker.put_item("flaky-window", CircuitStatus="WEIRD", Failures="many")
    code, out, err = run_cli(endpoint, "status")
    assert code == 0, err
    assert "OPEN, break over: next call probes (malformed item)" in out
    assert "echo: malformed item: OpenUntil is not a number" in out
    assert "flaky: malformed item: ProbeLeaseUntil is" in out and "probe_lease_seconds" in out
    assert "flaky-window: malformed item: CircuitStatus is 'WEIRD'" in out
    code, out, _ = run_cli(endpoint, "status", "--json")
    views = {v["callee"]: v for v in json.loads(out)}
    assert views["echo"]["malformed"] and views["echo"]["probe_due"] and views["echo"]["retry_after"] is None
    assert views["flaky"]["probe_due"] and views["flaky-window"]["state"] == "CLOSED"
    # the workflow treats them the same way: the break and the lease count as over
    assert breaker.call("echo", {"n": 1}).output == {"n": 1}


def test_data_is_printed_literally_never_as_markup(endpoint: str, breaker: Breaker) -> None:
    reason = "deploy [/] [bold]x[/bold] :ok: \x1b[2J"
    code, out, err = run_cli(endpoint, "isolate", "echo", "--reason", reason)
    assert code == 0, err
    assert "[/] [bold]x[/bold] :ok:" in out and "\x1b" not in out
    code, out, err = run_cli(endpoint, "status")
    assert code == 0 and "[/] [bold]x[/bold] :ok:" in out, err
    code, _, err = run_cli(endpoint, "call", "echo")
    assert code == 1 and "[/] [bold]x[/bold] :ok:" in err and "\x1b" not in err
    failed = breaker.call("flaky", {"fail": True, "message": "[/] :ok: [red]"})
    code, out, err = run_cli(endpoint, "history", failed.arn)
    assert code == 0 and "[/] :ok: [red]" in err
    code, out, _ = run_cli(endpoint, "executions", "--since", "1m")
    assert code == 0 and "✅" not in out
