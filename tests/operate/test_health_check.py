"""Scheduled health checks: the deployed health-check function, its schedules, and what it does to circuits.

Every check here runs the deployed function (the synthesized asset, on the engine) with a schedule's
input: the one the construct wrote for ``flaky-health`` (a payload check), or the same task pointed at
an HTTP server on 127.0.0.1 that a test controls (status, delay, or nothing listening).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from circuit_breaker.operate.circuits import Circuits
from circuit_breaker.core.health import FRESH_INTERVALS, HealthCheckTask, InvalidHealthCheckTaskError
from circuit_breaker.local.engine import LocalEngine
from circuit_breaker.local.event_capture import EventCapture
from circuit_breaker.core.settings import NO_PAYLOAD, CalleeSettings, HealthCheck, InvalidSettingsError
from tests.conftest import Breaker, free_port, run_cli

CALLEE = "flaky-health"  # registered in conftest with a payload check: failures_to_open 2, successes_to_close 2, break 300 s


class _Probed(BaseHTTPRequestHandler):
    server: "HealthServer"

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests += 1
        if self.server.delay:
            time.sleep(self.server.delay)
        self.send_response(self.server.status)
        if 300 <= self.server.status < 400:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


class HealthServer(ThreadingHTTPServer):
    """An HTTP service on 127.0.0.1 whose answer a test sets."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Probed)
        self.status, self.delay, self.requests = 200, 0.0, 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/health"


class RawService:
    """A TCP service on 127.0.0.1 that answers every connection with the same bytes, HTTP or not, then hangs up."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/health"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(65_536)  # the probe's request
                    connection.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self._stopped.set()
        self._socket.close()


#: Answers that are not valid HTTP, as an adversary (or a misrouted port) gives them.
MALFORMED_ANSWERS = {
    "a bad status line": b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    "another protocol's banner": b"SSH-2.0-OpenSSH_9.6\r\n",
    "a 70 KB header line": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    "200 headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Header-%d: y\r\n" % n for n in range(200)) + b"\r\n",
}


@pytest.fixture
def service() -> Iterator[HealthServer]:
    server = HealthServer()
    yield server
    server.shutdown()
    server.server_close()


def url_task(url: str, **check: Any) -> dict[str, Any]:
    """The task a schedule would send for ``CALLEE`` with a URL check."""
    settings = {"timeout_seconds": 1, "failures_to_open": 2, "successes_to_close": 2, **check}
    return HealthCheckTask(CALLEE, HealthCheck(url=url, **settings), break_seconds=300, max_break_seconds=300).event()


def schedule_input(engine: LocalEngine, callee: str) -> dict[str, Any]:
    group, name = engine.deployment().registry[callee].health_check_schedule
    schedule = engine.session().client("scheduler").get_schedule(GroupName=group, Name=name)
    return json.loads(schedule["Target"]["Input"])


def check(engine: LocalEngine, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the deployed health-check function as its schedule does; its answer."""
    answer = engine.session().client("lambda").invoke(
        FunctionName=engine.function_name("CircuitBreakerHealthChecksFunction"), Payload=json.dumps(event)
    )
    document = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, document
    return document


# -- settings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({}, "either a url to GET or a payload"),
        ({"url": "https://a.example/health", "payload": {}}, "either a url to GET or a payload"),
        ({"url": "ftp://a.example/"}, "must be an http:// or https:// URL"),
        ({"url": "https://user:secret@a.example/"}, "no user:password@"),
        ({"payload": float("nan")}, "payload must be JSON"),
        ({"payload": "x" * 40_000}, "at most 32768 bytes"),
        ({"url": "https://a.example/", "rate_minutes": 0}, "rate_minutes must be between 1 and 1440"),
        ({"url": "https://a.example/", "timeout_seconds": 61}, "timeout_seconds must be between 1 and 60"),
        ({"url": "https://a.example/", "failures_to_open": 0}, "failures_to_open must be between 1 and 100"),
        ({"url": "https://a.example/", "successes_to_close": True}, "successes_to_close must be a whole number"),
        ({"url": "https://a.example/", "every": 5}, "unknown health check setting(s) every"),
    ],
)
def test_bad_health_check_settings_say_what_is_wrong(values: dict, says: str) -> None:
    with pytest.raises(InvalidSettingsError, match="callees.x") as raised:
        CalleeSettings.from_mapping({"health_check": values}, "circuit_breaker.callees.x")
    assert says in str(raised.value)


def test_cdk_json_takes_a_health_check_per_callee() -> None:
    from stacks.context import parse_breaker_context

    config = parse_breaker_context(
        {"callees": {"payment": {"function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:payment",
                                 "health_check": {"url": "https://payments.example.com/health", "failures_to_open": 2}}}},
        ("echo", "flaky"),
    )  # fmt: skip
    [payment] = [c for c in config.callees if c.name == "payment"]
    assert payment.settings.health_check == HealthCheck(url="https://payments.example.com/health", failures_to_open=2)
    with pytest.raises(InvalidSettingsError, match=r"circuit_breaker.callees.echo: .*unknown health check setting\(s\) uri"):
        parse_breaker_context({"callees": {"echo": {"health_check": {"uri": "https://x.example/"}}}}, ("echo", "flaky"))


def test_a_null_payload_is_a_payload_and_the_task_round_trips() -> None:
    check_ = HealthCheck(payload=None, rate_minutes=5)
    assert check_.kind == "payload" and check_.payload is None and check_.schedule_expression == "rate(5 minutes)"
    assert HealthCheck(url="https://a.example/h").payload is NO_PAYLOAD
    task = HealthCheckTask("payment", check_, 30, 300, "arn:aws:lambda:us-east-1:123456789012:function:payment")
    assert HealthCheckTask.from_event(json.loads(json.dumps(task.event()))) == task


@pytest.mark.parametrize(
    "event",
    [[], {"callee": "x y"}, {"callee": "p", "check": {"url": "https://a.example/", "intervalSeconds": 61}},
     {"callee": "p", "check": HealthCheck(payload={}).entry(), "breakSeconds": 30, "maxBreakSeconds": 300}],
)
def test_an_event_that_no_schedule_sends_is_refused(event: Any) -> None:
    with pytest.raises(InvalidHealthCheckTaskError, match="health-check task|JSON object"):
        HealthCheckTask.from_event(event)


# -- probes ------------------------------------------------------------------------------------------------


def test_only_a_2xx_or_3xx_answer_is_healthy(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    for status, healthy in ((200, True), (204, True), (302, True), (404, False), (429, False), (500, False), (503, False)):
        service.status, service.requests = status, 0
        outcome = check(engine, url_task(service.url, failures_to_open=100))
        assert (outcome["healthy"], outcome["detail"]) == (healthy, f"HTTP {status}"), status
        assert service.requests == 1  # a redirect is the service's answer, not followed


def test_a_timeout_and_a_connection_error_are_unhealthy(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    service.delay = 1.5
    slow = check(engine, url_task(service.url, timeout_seconds=1, failures_to_open=3))
    assert (slow["healthy"], slow["detail"]) == (False, "timed out after 1 s")
    assert 900 <= slow["elapsedMs"] < 1400
    refused = check(engine, url_task(f"http://127.0.0.1:{free_port()}/health", failures_to_open=3))
    assert refused["healthy"] is False and refused["detail"].startswith("connection error:")
    assert breaker.item(CALLEE)["HealthStreak"] == 2  # both counted: every probe has a result


def test_an_answer_that_is_not_http_is_unhealthy_and_counts_towards_opening(engine: LocalEngine, breaker: Breaker) -> None:
    outcomes = []
    for name, answer in MALFORMED_ANSWERS.items():
        raw = RawService(answer)
        try:
            outcomes.append((name, check(engine, url_task(raw.url, failures_to_open=len(MALFORMED_ANSWERS)))))
        finally:
            raw.close()
    for name, outcome in outcomes:
        assert outcome["healthy"] is False and outcome["detail"].startswith("malformed HTTP answer: "), (name, outcome)
    assert [o["action"] for _, o in outcomes] == ["counted"] * (len(MALFORMED_ANSWERS) - 1) + ["opened"]
    assert breaker.item(CALLEE)["CircuitStatus"] == "OPEN"
    assert breaker.item(CALLEE)["LastError"].startswith("HealthCheckFailed: malformed HTTP answer: ")


def test_breaker_health_check_run_reports_an_answer_that_is_not_http(engine: LocalEngine, endpoint: str, breaker: Breaker) -> None:
    scheduler = engine.session().client("scheduler")
    group, name = engine.deployment().registry[CALLEE].health_check_schedule
    schedule = scheduler.get_schedule(GroupName=group, Name=name)
    raw = RawService(MALFORMED_ANSWERS["another protocol's banner"])
    target = {**schedule["Target"], "Input": json.dumps(url_task(raw.url))}
    kept = {key: schedule[key] for key in ("ScheduleExpression", "FlexibleTimeWindow")}
    scheduler.update_schedule(GroupName=group, Name=name, Target=target, **kept)
    try:
        code, out, err = run_cli(endpoint, "health-check", "run", CALLEE)
    finally:
        scheduler.update_schedule(GroupName=group, Name=name, Target=schedule["Target"], **kept)
        raw.close()
    assert code == 1 and "Traceback" not in err, err
    assert out.startswith(f"{CALLEE} unhealthy (malformed HTTP answer: BadStatusLine") and "1 of 2 checks in a row" in out, out
    assert breaker.item(CALLEE)["HealthStreak"] == 1


# -- what checks do to the circuit -------------------------------------------------------------------------


def test_unhealthy_checks_open_a_closed_circuit(
    engine: LocalEngine, breaker: Breaker, service: HealthServer, transitions: EventCapture
) -> None:
    service.status = 503
    first = check(engine, url_task(service.url))
    assert (first["action"], first["streak"], first["threshold"], first["state"]) == ("counted", 1, 2, "CLOSED")
    item = breaker.item(CALLEE)
    assert (item["CircuitStatus"], item["HealthStreak"], item["HealthPhase"]) == ("CLOSED", 1, "CLOSED")
    assert transitions.drain() == []

    second = check(engine, url_task(service.url))
    now = int(breaker.now())
    assert second["action"] == "opened"
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "OPEN" and item["ConsecutiveOpens"] == 1 and item["LastError"] == "HealthCheckFailed: HTTP 503"
    assert now - 2 <= item["OpenUntil"] - 300 <= now and item["ExpiryTimeStamp"] == item["OpenUntil"] + 300
    assert "HealthStreak" not in item
    [event] = transitions.drain()
    assert event["detail"] == {
        "callee": CALLEE, "from": "CLOSED", "to": "OPEN", "reason": "health check failed", "checks": 2, "threshold": 2,
        "openUntil": item["OpenUntil"], "consecutiveOpens": 1, "error": "HTTP 503", "executionArn": None, "at": item["OpenedAt"],
    }  # fmt: skip
    assert breaker.call(CALLEE).error == "CircuitBreaker.CircuitOpen"  # the workflow acts on it


def test_healthy_checks_close_an_open_circuit_early(
    engine: LocalEngine, breaker: Breaker, service: HealthServer, transitions: EventCapture
) -> None:
    now = int(breaker.now())
    breaker.put_item(CALLEE, CircuitStatus="OPEN", OpenUntil=now + 200, OpenedAt=now - 100, ConsecutiveOpens=2,
                     ExpiryTimeStamp=now + 500, LastError="FlakyError: down", Version=7)  # fmt: skip
    first = check(engine, url_task(service.url))
    assert (first["action"], first["streak"], first["state"]) == ("counted", 1, "OPEN")
    item = breaker.item(CALLEE)
    assert item["OpenUntil"] == now + 200 and item["HealthPhase"] == f"OPEN:{now - 100}" and item["Version"] == 8
    assert breaker.call(CALLEE).error == "CircuitBreaker.CircuitOpen"

    second = check(engine, url_task(service.url))
    assert second["action"] == "closed"
    item = breaker.item(CALLEE)
    assert {k: v for k, v in item.items() if k not in ("UpdatedAt", "ExpiryTimeStamp")} == {
        "ServiceName": CALLEE, "CircuitStatus": "CLOSED", "Version": 9, "ClosedAt": item["UpdatedAt"],  # a ramp starts there
    }
    [event] = transitions.drain()
    assert {k: event["detail"][k] for k in ("from", "to", "reason", "checks", "threshold")} == {
        "from": "OPEN", "to": "CLOSED", "reason": "closed by health check", "checks": 2, "threshold": 2,
    }
    assert breaker.call(CALLEE, {"a": 1}).output == {"a": 1}


def test_a_half_open_circuit_is_closed_too(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    now = int(breaker.now())
    breaker.put_item(CALLEE, CircuitStatus="HALF_OPEN", ProbeLeaseUntil=now + 5, OpenedAt=now - 60, ConsecutiveOpens=1,
                     ExpiryTimeStamp=now + 305, HealthStreak=1, HealthPhase=f"OPEN:{now - 60}", HealthCheckedAt=now - 60)  # fmt: skip
    assert check(engine, url_task(service.url))["action"] == "closed"
    assert breaker.item(CALLEE)["CircuitStatus"] == "CLOSED"


def test_an_isolation_is_never_overwritten_and_an_open_circuit_never_moves(
    engine: LocalEngine, breaker: Breaker, service: HealthServer, transitions: EventCapture
) -> None:
    circuits = Circuits(engine.connection(), engine.deployment())
    circuits.isolate(CALLEE, "incident 7")
    isolated = breaker.item(CALLEE)
    for status in (503, 200, 200, 200):
        service.status = status
        assert check(engine, url_task(service.url, successes_to_close=1))["action"] == "none"
    assert breaker.item(CALLEE) == isolated

    now = int(breaker.now())
    breaker.clear()
    breaker.put_item(CALLEE, CircuitStatus="OPEN", OpenUntil=now + 100, OpenedAt=now, ExpiryTimeStamp=now + 400, Version=3)
    opened = breaker.item(CALLEE)
    service.status = 500
    for _ in range(3):
        assert check(engine, url_task(service.url, failures_to_open=1))["action"] == "none"  # an open circuit counts successes
    assert breaker.item(CALLEE) == opened
    transitions.drain()  # the isolation's own event


def test_a_healthy_check_of_a_healthy_circuit_writes_nothing(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    for _ in range(3):
        assert check(engine, url_task(service.url))["action"] == "none"
    assert breaker.item(CALLEE) is None


def test_the_other_result_breaks_a_streak(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    for status, action, streak in ((500, "counted", 1), (200, "counted", 0), (500, "counted", 1), (200, "counted", 0), (200, "none", 0)):
        service.status = status
        outcome = check(engine, url_task(service.url))
        assert (outcome["action"], outcome["streak"]) == (action, streak), status
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "CLOSED" and "HealthStreak" not in item


def test_a_stale_streak_or_one_of_another_opening_starts_over(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    now = int(breaker.now())
    stale = now - FRESH_INTERVALS * 60 - 31
    breaker.put_item(CALLEE, CircuitStatus="CLOSED", HealthStreak=1, HealthPhase="CLOSED", HealthCheckedAt=stale, ExpiryTimeStamp=now + 60)
    service.status = 503
    assert check(engine, url_task(service.url))["streak"] == 1  # not 2: the last check is too old to be "in a row"

    breaker.clear()
    # A failed probe reopened the circuit (new OpenedAt): the healthy streak of the earlier opening is over.
    breaker.put_item(CALLEE, CircuitStatus="OPEN", OpenUntil=now + 60, OpenedAt=now, ExpiryTimeStamp=now + 400,
                     HealthStreak=1, HealthPhase=f"OPEN:{now - 120}", HealthCheckedAt=now - 10)  # fmt: skip
    service.status = 200
    outcome = check(engine, url_task(service.url))
    assert (outcome["action"], outcome["streak"]) == ("counted", 1)
    assert breaker.item(CALLEE)["CircuitStatus"] == "OPEN"


def test_a_streak_on_a_closed_window_keeps_the_window(engine: LocalEngine, breaker: Breaker, service: HealthServer) -> None:
    breaker.call(CALLEE, {"fail": True})  # counts failed attempts in a new window (below the threshold)
    window = breaker.item(CALLEE)
    service.status = 503
    check(engine, url_task(service.url))
    item = breaker.item(CALLEE)
    assert (item["Failures"], item["WindowEndsAt"]) == (window["Failures"], window["WindowEndsAt"])
    assert item["ExpiryTimeStamp"] >= window["ExpiryTimeStamp"] and item["HealthStreak"] == 1
    assert item["Version"] == window["Version"] + 1


def test_a_write_that_meets_a_change_is_decided_again_on_a_fresh_read(
    engine: LocalEngine, breaker: Breaker, service: HealthServer, transitions: EventCapture
) -> None:
    """The second failing check would open the circuit; an operator isolates it just before the write."""
    service.status = 503
    check(engine, url_task(service.url))
    circuits = Circuits(engine.connection(), engine.deployment())
    engine.faults.run_before("dynamodb", "PutItem", lambda: circuits.isolate(CALLEE, "maintenance"), times=1)
    outcome = check(engine, url_task(service.url))
    assert (outcome["action"], outcome["state"]) == ("none", "ISOLATED")
    item = breaker.item(CALLEE)
    assert item["CircuitStatus"] == "ISOLATED" and item["Reason"] == "maintenance"
    assert [e["detail"]["to"] for e in transitions.drain()] == ["ISOLATED"]  # the operator's only


# -- the schedules and a payload check ---------------------------------------------------------------------


def test_each_checked_callee_has_a_schedule_that_invokes_the_function_with_its_task(engine: LocalEngine) -> None:
    task = schedule_input(engine, CALLEE)
    flaky = engine.session().client("lambda").get_function(FunctionName=engine.function_name("Flaky"))["Configuration"]["FunctionArn"]
    assert task == {
        "callee": CALLEE,
        "check": {"intervalSeconds": 60, "timeoutSeconds": 2, "failuresToOpen": 2, "successesToClose": 2, "payload": {"fail": False}},
        "breakSeconds": 300, "maxBreakSeconds": 300, "functionArn": flaky,
    }  # fmt: skip
    assert schedule_input(engine, "echo")["check"]["payload"] == {"health": "check"}  # cdk.json's sample check
    assert engine.deployment().registry["flaky"].health_check_schedule is None


def test_a_payload_check_invokes_the_callee_and_a_function_error_is_unhealthy(
    engine: LocalEngine, breaker: Breaker, transitions: EventCapture
) -> None:
    task = schedule_input(engine, CALLEE)
    flaky = engine.function_name("Flaky")
    before = breaker.invocations("Flaky")
    healthy = check(engine, task)
    assert (healthy["healthy"], healthy["action"]) == (True, "none") and breaker.invocations("Flaky") == before + 1
    engine.runtime.script(flaky, json.dumps({"errorType": "FlakyError", "errorMessage": "down"}).encode(), times=2)
    outcomes = [check(engine, task) for _ in range(2)]
    assert [o["detail"] for o in outcomes] == ["function error FlakyError: down"] * 2
    assert [o["action"] for o in outcomes] == ["counted", "opened"]
    assert [e["detail"]["reason"] for e in transitions.drain()] == ["health check failed"]


def test_breaker_health_check_run_runs_the_schedule_once(engine: LocalEngine, endpoint: str, breaker: Breaker) -> None:
    code, out, err = run_cli(endpoint, "health-check", "run", CALLEE)
    assert code == 0, err
    assert out.startswith(f"{CALLEE} healthy (invoked, status 200") and "circuit CLOSED, 0 of 2 checks in a row" in out
    engine.runtime.script(engine.function_name("Flaky"), b'{"errorType": "FlakyError", "errorMessage": "down"}', times=1)
    code, out, _ = run_cli(endpoint, "health-check", "run", CALLEE, "--json")
    assert code == 1
    outcome = json.loads(out)
    assert (outcome["healthy"], outcome["action"], outcome["streak"]) == (False, "counted", 1)
    assert breaker.item(CALLEE)["HealthStreak"] == 1


@pytest.mark.parametrize(
    ("callee", "says"),
    [("flaky", "flaky has no health check: give it a \"health_check\""), ("nosuch", "callee 'nosuch' is not registered")],
)
def test_breaker_health_check_run_refuses_what_it_cannot_run(endpoint: str, callee: str, says: str) -> None:
    code, _, err = run_cli(endpoint, "health-check", "run", callee)
    assert code == 2 and says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_event_no_schedule_sends_fails_the_function_with_a_named_error(engine: LocalEngine) -> None:
    answer = engine.session().client("lambda").invoke(
        FunctionName=engine.function_name("CircuitBreakerHealthChecksFunction"), Payload=json.dumps({"ID": "x", "URL": "http://x"})
    )
    document = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Unhandled" and document["errorType"] == "InvalidHealthCheckTaskError"


def test_a_callee_name_with_a_trailing_newline_is_refused_and_writes_nothing(
    engine: LocalEngine, breaker: Breaker, service: HealthServer
) -> None:
    event = {**url_task(service.url, failures_to_open=1), "callee": f"{CALLEE}\n"}
    answer = engine.session().client("lambda").invoke(
        FunctionName=engine.function_name("CircuitBreakerHealthChecksFunction"), Payload=json.dumps(event)
    )
    document = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Unhandled" and document["errorType"] == "InvalidHealthCheckTaskError"
    assert "callee name" in document["errorMessage"] and service.requests == 0
    assert breaker.item(f"{CALLEE}\n") is None and breaker.item(CALLEE) is None


# -- what is deployed --------------------------------------------------------------------------------------


def test_least_privilege_for_the_function_and_the_schedules(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    function = _resource(template, "AWS::Lambda::Function", "CircuitBreakerHealthChecksFunction")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]  # fmt: skip
    actions = {json.dumps(s["Action"]): s["Resource"] for s in statements}
    assert actions['["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]'] == {"Fn::GetAtt": [_logical(template, "AWS::DynamoDB::Table"), "Arn"]}
    [table_statement] = [s for s in statements if s["Action"][0] == "dynamodb:GetItem"]
    assert table_statement["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["echo", CALLEE]}}
    invoked = actions['"lambda:InvokeFunction"']
    # Only the callees with payload checks (echo, and flaky behind flaky-health); never the inspector or fallbacks.
    assert sorted(r["Fn::GetAtt"][0] for r in invoked) == sorted([_logical(template, "AWS::Lambda::Function", "Echo"), _logical(template, "AWS::Lambda::Function", "Flaky")])
    scheduler_role = _resource(template, "AWS::IAM::Role", "CircuitBreakerHealthChecksSchedulerRole")["Properties"]
    assert scheduler_role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert sorted(s["Name"] for s in schedules) == ["echo", CALLEE]
    for schedule in schedules:
        assert schedule["ScheduleExpression"] == "rate(1 minute)" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [_logical(template, "AWS::Lambda::Function", "CircuitBreakerHealthChecksFunction"), "Arn"]}
        assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}


def _resource(template: dict[str, Any], kind: str, prefix: str) -> dict[str, Any]:
    return template["Resources"][_logical(template, kind, prefix)]


def _logical(template: dict[str, Any], kind: str, prefix: str = "") -> str:
    [name] = [k for k, r in template["Resources"].items() if r["Type"] == kind and k.startswith(prefix)]
    return name


def test_the_function_asset_imports_only_its_own_copy_of_the_package(assembly: Path, template: dict[str, Any]) -> None:
    """The function runs from its asset alone (plus the runtime's boto3 and the Powertools layer)."""
    function = _resource(template, "AWS::Lambda::Function", "CircuitBreakerHealthChecksFunction")
    asset = assembly / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    probe = (
        "import circuit_breaker, circuit_breaker.lambdas.health_check.index as index; "
        "print(circuit_breaker.__file__); print(callable(index.handler))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(asset), "AWS_DEFAULT_REGION": "us-east-1", "CIRCUIT_BREAKER_TABLE": "t"}
    ran = subprocess.run([sys.executable, "-c", probe], cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:]
    origin, handler = ran.stdout.split()
    assert Path(origin).is_relative_to(asset) and handler == "True"
    assert function["Properties"]["Handler"] == "circuit_breaker.lambdas.health_check.index.handler"
