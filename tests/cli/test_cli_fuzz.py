"""Fuzzing the CLI's printers: whatever the data (markup, emoji codes, control characters, huge values),
``breaker`` exits with its documented status and prints no traceback, and the data comes out literally.

The data reaches the CLI the way it does in production: as table items, callee error messages,
isolation reasons and command-line arguments, through the real CLI against the engine.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuit_breaker.operate.circuits import CircuitView
from circuit_breaker.cli.app import failure_lines, print_status
from circuit_breaker.core.errors import error_from_failure
from circuit_breaker.core.record import BreakLimits, decode
from circuit_breaker.cli.render import clean, console
from circuit_breaker.local.patches.dynamodb_numbers import number_refusal
from tests.conftest import Breaker, run_cli

FRAGMENTS = [
    "[/]", "[bold]", "[/bold]", "[red]x[/red]", "[link=file:///etc/passwd]x[/link]", ":ok:", ":thumbs_up:", ":smiley:",
    "\x1b[2J", "\x1b]0;title\x07", "\r", "\x00", "\x08", "\u202e", "%s", "{}", "{0}", "\\", '"', "'",
    "\n", "\t", "\u2028", "💥", "ﷺ", "a" * 2000, "9" * 60,
]  # fmt: skip

#: Text as data stores hold it (valid Unicode); arguments may also carry what a terminal passes undecoded.
nasty = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), min_size=1, max_size=5).map("".join)

number_text = st.one_of(st.integers(min_value=-(10**40), max_value=10**40).map(str), st.sampled_from(["1e125", "-1e-130", "0", "NaN", "1.5"]))


@st.composite
def attribute(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["S", "N", "BOOL", "NULL", "L"]))
    if kind == "S":
        return {"S": draw(nasty)}
    if kind == "N":
        return {"N": draw(number_text)}
    if kind == "BOOL":
        return {"BOOL": draw(st.booleans())}
    if kind == "NULL":
        return {"NULL": True}
    return {"L": [{"S": draw(nasty)}]}


ATTRIBUTES = ["CircuitStatus", "ExpiryTimeStamp", "Version", "Failures", "WindowEndsAt", "OpenUntil", "ProbeLeaseUntil",
              "ConsecutiveOpens", "LastError", "Reason", "IsolatedBy", "UpdatedAt", "LastExecutionArn"]  # fmt: skip
FUZZ = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_clean_exit(code: int, out: str, err: str, allowed: tuple[int, ...]) -> None:
    assert code in allowed, (code, out, err)
    assert "Traceback" not in out + err and "unexpected" not in err, err


def valid_number(text: str) -> bool:
    """A number DynamoDB holds: numeric, at most 38 significant digits, within its range (the engine refuses the rest)."""
    try:
        float(text)
    except ValueError:
        return False
    return text.lower() != "nan" and number_refusal(text) is None


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.dictionaries(st.sampled_from(ATTRIBUTES), attribute(), max_size=8), min_size=1, max_size=3),
    names=st.lists(nasty, min_size=3, max_size=3),
    now=st.one_of(st.just(1_800_000_000.0), st.floats(min_value=-1e12, max_value=1e12)),
)
def test_the_status_printer_prints_any_record(items: list[dict[str, Any]], names: list[str], now: float) -> None:
    """Hundreds of items straight into the printer (the CLI tests below run fewer, end to end)."""
    views = [CircuitView(decode(name, item, now, BreakLimits(300, 15)), registered) for name, item, registered in zip(names, items, (True, False, None))]
    with contextlib.redirect_stdout(io.StringIO()) as captured:
        print_status(views, names[0], now)
    printed = captured.getvalue()
    assert "\x1b" not in printed and "\r" not in printed
    for name in names[: len(views)]:
        assert clean(name, 100) in printed or len(name) > 100 or "…" in printed


@settings(max_examples=200, deadline=None)
@given(
    error=st.sampled_from(["CircuitBreaker.CircuitOpen", "CircuitBreaker.CircuitIsolated", "CircuitBreaker.CalleeFailed", "CircuitBreaker.UnknownCallee", "States.Runtime", "[/]"]),
    cause=st.one_of(nasty, st.dictionaries(st.sampled_from(["callee", "state", "retryAfter", "reason", "error", "cause", "message", "attempts", "x"]), st.one_of(nasty, st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()), max_size=6).map(json.dumps)),
)
def test_the_failure_printer_prints_any_cause(error: str, cause: str) -> None:
    lines = failure_lines(error_from_failure(error, cause, "arn:aws:states:us-east-1:123456789012:express:sm:n:i"), now=1_800_000_000)
    out = console()
    with out.capture() as captured:
        for line in lines:
            out.print(line, soft_wrap=True)
    assert error in captured.get() and "\x1b" not in captured.get()


@FUZZ
@given(
    attributes=st.dictionaries(st.sampled_from(ATTRIBUTES), attribute(), max_size=7),
    status=st.one_of(st.none(), st.sampled_from(["CLOSED", "OPEN", "HALF_OPEN", "ISOLATED"]), nasty),
    name=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z"),
)
def test_status_survives_any_table_item(endpoint: str, breaker: Breaker, attributes: dict[str, Any], status: str | None, name: str) -> None:
    breaker.clear()
    if status is not None:
        attributes["CircuitStatus"] = {"S": status}
    # DynamoDB itself refuses numbers it cannot hold and empty sets; keep what it accepts
    attributes = {k: v for k, v in attributes.items() if "N" not in v or valid_number(v["N"])}
    for callee in ("echo", name):
        breaker.dynamodb.put_item(TableName=breaker.table, Item={"ServiceName": {"S": callee}, **attributes})
    for args in (["status"], ["status", name]):
        code, out, err = run_cli(endpoint, *args)
        assert_clean_exit(code, out, err, (0,))
    code, out, err = run_cli(endpoint, "status", "--json")
    assert_clean_exit(code, out, err, (0,))
    assert {"echo", name} <= {view["callee"] for view in json.loads(out)}


@FUZZ
@given(message=nasty)
def test_call_history_and_executions_survive_any_callee_error(endpoint: str, breaker: Breaker, message: str) -> None:
    breaker.clear()
    code, out, err = run_cli(endpoint, "call", "flaky", "-p", json.dumps({"fail": True, "message": message}))
    assert_clean_exit(code, out, err, (1,))
    shown = clean(message, 100)[:40]
    assert shown.rstrip("…") in err or "FlakyError" in err
    arn = err.rsplit("execution ", 1)[-1].strip()
    for args in (["history", arn], ["status", "flaky"]):
        code, out, err = run_cli(endpoint, *args)
        assert_clean_exit(code, out, err, (0,))


@FUZZ
@given(reason=nasty)
def test_isolate_and_reset_survive_any_reason(endpoint: str, breaker: Breaker, reason: str) -> None:
    breaker.clear()
    code, out, err = run_cli(endpoint, "isolate", "echo", "--reason", reason)
    assert_clean_exit(code, out, err, (0, 2))
    if code == 0:
        code, out, err = run_cli(endpoint, "call", "echo")
        assert_clean_exit(code, out, err, (1,))
        assert "CircuitIsolated" in err
    code, out, err = run_cli(endpoint, "reset", "echo")
    assert_clean_exit(code, out, err, (0,))


@settings(FUZZ, max_examples=20)
@given(value=st.one_of(nasty, st.just("\udcff"), st.just("\ud800x")), command=st.sampled_from([["history"], ["status"], ["call"], ["reset"], ["executions", "--since"], ["call", "echo", "-p"], ["--state-machine-arn"]]))
def test_any_argument_is_an_error_in_one_line_or_works(endpoint: str, breaker: Breaker, value: str, command: list[str]) -> None:
    if "\x00" in value:  # no operating system passes a NUL in an argument
        value = value.replace("\x00", "")
    code, out, err = run_cli(endpoint, *command, value, *(["status"] if command == ["--state-machine-arn"] else []))
    assert_clean_exit(code, out, err, (0, 1, 2))
