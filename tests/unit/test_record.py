"""The circuit item's model (circuit_breaker/core/record.py): expiry, defensive decoding, and versioned operator writes.

Decoding is checked against items as the workflow writes them and as an adversary or an old
version might leave them; the operators' conditional writes are checked on the engine's DynamoDB,
with another write landing between an operator's read and its write (no sleeps: the DynamoDB
client is wrapped so the other write happens right after the read).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuit_breaker.operate.circuits import Circuits
from circuit_breaker.local.event_capture import EventCapture
from circuit_breaker.core.record import BreakLimits, CircuitState, decode, get_item_request, is_expired
from circuit_breaker.core.writes import isolate_request, reset_request
from tests.conftest import Breaker

NOW = 1_800_000_000
LIMITS = BreakLimits(max_break_seconds=300, probe_lease_seconds=15)


def item(**attributes: Any) -> dict[str, Any]:
    """A DynamoDB item: ints become N, everything else S (pass a dict to give the typed value yourself)."""
    typed: dict[str, Any] = {"ServiceName": {"S": "payment"}}
    for name, value in attributes.items():
        if isinstance(value, dict):
            typed[name] = value
        elif isinstance(value, int):
            typed[name] = {"N": str(value)}
        else:
            typed[name] = {"S": str(value)}
    return typed


def test_no_item_is_a_closed_circuit() -> None:
    record = decode("payment", None, NOW)
    assert (record.state, record.exists, record.malformed, record.retry_after) == (CircuitState.CLOSED, False, False, None)
    assert not record.fails_fast()


@pytest.mark.parametrize(("expiry", "expired"), [(NOW, True), (NOW - 1, True), (NOW + 1, False), (None, False)])
def test_the_expiry_rule(expiry: int | None, expired: bool) -> None:
    assert is_expired(expiry, NOW) is expired
    attributes = {} if expiry is None else {"ExpiryTimeStamp": expiry}
    record = decode("payment", item(CircuitStatus="ISOLATED", Reason="x", **attributes), NOW)
    assert record.expired is expired
    assert record.state is (CircuitState.CLOSED if expired else CircuitState.ISOLATED)
    assert record.fails_fast() is not expired


def test_an_open_circuit_as_the_workflow_writes_it() -> None:
    record = decode(
        "payment",
        item(CircuitStatus="OPEN", OpenUntil=NOW + 30, OpenedAt=NOW, ConsecutiveOpens=1, ExpiryTimeStamp=NOW + 330, Version=3, LastError="E: x"),
        NOW,
        LIMITS,
    )
    assert record.state is CircuitState.OPEN and not record.malformed
    assert record.retry_after == NOW + 30 and record.fails_fast() and not record.fails_fast(NOW + 30)
    assert record.version == 3 and record.consecutive_opens == 1 and record.last_error == "E: x"
    over = decode("payment", item(CircuitStatus="OPEN", OpenUntil=NOW - 1), NOW, LIMITS)
    assert over.probe_due and over.retry_after is None and not over.fails_fast()


def test_failures_count_only_in_a_live_window() -> None:
    live = decode("payment", item(CircuitStatus="CLOSED", Failures=2, WindowEndsAt=NOW + 10), NOW)
    ended = decode("payment", item(CircuitStatus="CLOSED", Failures=2, WindowEndsAt=NOW), NOW)
    assert (live.failures, live.window_ends_at) == (2, NOW + 10)
    assert (ended.failures, ended.window_ends_at, ended.malformed) == (None, None, False)


@pytest.mark.parametrize(
    ("attributes", "state", "says", "fails_fast"),
    [
        ({"CircuitStatus": "OPEN", "OpenUntil": str(NOW + 30)}, CircuitState.OPEN, "OpenUntil is not a number", False),
        ({"CircuitStatus": "OPEN"}, CircuitState.OPEN, None, False),
        ({"CircuitStatus": "OPEN", "OpenUntil": 9_999_999_999}, CircuitState.OPEN, "longer than the callee's max_break_seconds", False),
        ({"CircuitStatus": "OPEN", "OpenUntil": {"N": "1e125"}}, CircuitState.OPEN, "longer than the callee's max_break_seconds", False),
        ({"CircuitStatus": "HALF_OPEN", "ProbeLeaseUntil": "soon"}, CircuitState.HALF_OPEN, "ProbeLeaseUntil is not a number", False),
        ({"CircuitStatus": "HALF_OPEN", "ProbeLeaseUntil": NOW + 3600}, CircuitState.HALF_OPEN, "probe_lease_seconds", False),
        ({"CircuitStatus": "BROKEN"}, CircuitState.CLOSED, "'BROKEN', not one of", False),
        ({"CircuitStatus": {"N": "1"}}, CircuitState.CLOSED, "CircuitStatus is not a string", False),
        ({"Failures": 3}, CircuitState.CLOSED, "CircuitStatus is missing", False),
        ({"CircuitStatus": "CLOSED", "Failures": "two", "WindowEndsAt": NOW + 5}, CircuitState.CLOSED, "Failures is not a number", False),
        ({"CircuitStatus": "ISOLATED", "ExpiryTimeStamp": "tomorrow"}, CircuitState.ISOLATED, "the item never expires", True),
        ({"CircuitStatus": "ISOLATED", "Reason": {"N": "42"}}, CircuitState.ISOLATED, "Reason is not a string", True),
        ({"CircuitStatus": "OPEN", "OpenUntil": {"N": "NaN"}}, CircuitState.OPEN, "OpenUntil is not a number", False),
    ],
)
def test_malformed_items_say_how_the_workflow_treats_them(attributes: dict[str, Any], state: CircuitState, says: str | None, fails_fast: bool) -> None:
    record = decode("payment", item(**attributes), NOW, LIMITS)
    assert record.state is state
    assert record.fails_fast() is fails_fast
    if says is None:
        assert record.problems == ()
    else:
        assert record.malformed and any(says in problem for problem in record.problems), record.problems


def test_a_long_break_is_only_malformed_given_the_callee_limits() -> None:
    far = item(CircuitStatus="OPEN", OpenUntil=NOW + 3600)
    assert decode("payment", far, NOW).retry_after == NOW + 3600  # limits unknown: taken as written
    assert decode("payment", far, NOW, LIMITS).probe_due
    # the workflow rounds its clock up before adding the break: one second more is still its own write
    assert decode("payment", item(CircuitStatus="OPEN", OpenUntil=NOW + 301), NOW, LIMITS).retry_after == NOW + 301


@st.composite
def attribute_values(draw: st.DrawFn) -> Any:
    text = st.text(max_size=30)
    return draw(
        st.one_of(
            st.builds(lambda s: {"S": s}, text),
            st.builds(lambda n: {"N": n}, st.one_of(text, st.integers().map(str), st.floats(allow_nan=True).map(str))),
            st.builds(lambda b: {"BOOL": b}, st.booleans()),
            st.just({"NULL": True}),
            st.builds(lambda v: {"L": v}, st.lists(st.builds(lambda s: {"S": s}, text), max_size=2)),
            st.just({}),
            st.text(max_size=5),
            st.none(),
        )
    )


NAMES = ["CircuitStatus", "ExpiryTimeStamp", "Version", "Failures", "WindowEndsAt", "OpenUntil", "OpenedAt",
         "ConsecutiveOpens", "ProbeLeaseUntil", "LastError", "Reason", "IsolatedBy", "IsolatedAt", "UpdatedAt",
         "LastExecutionArn", "Other"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    attributes=st.dictionaries(st.sampled_from(NAMES), attribute_values(), max_size=8),
    status=st.sampled_from([None, *[s.value for s in CircuitState], "closed"]),
    limits=st.sampled_from([None, LIMITS]),
)
def test_decoding_never_raises(attributes: dict[str, Any], status: str | None, limits: BreakLimits | None) -> None:
    if status is not None:
        attributes["CircuitStatus"] = {"S": status}
    record = decode("payment", {"ServiceName": {"S": "payment"}, **attributes}, NOW, limits)
    assert isinstance(record.state, CircuitState)
    record.as_dict()
    record.fails_fast(NOW + 1)
    retry_after = record.retry_after
    assert retry_after is None or isinstance(retry_after, int)
    if limits and record.state in (CircuitState.OPEN, CircuitState.HALF_OPEN) and retry_after is not None:
        assert retry_after <= NOW + 301  # a break or lease no workflow writes never holds the circuit


def test_requests_read_little_and_write_conditionally() -> None:
    request = get_item_request("T", "payment")
    assert request["ConsistentRead"] is True and "LastError" in request["ExpressionAttributeNames"].values()
    absent = decode("payment", None, NOW)
    put = isolate_request("T", absent, reason="r", actor="me", now=NOW, until=NOW + 60)
    assert put["ConditionExpression"] == "attribute_not_exists(ServiceName)"
    assert put["Item"]["Version"] == {"N": "1"} and put["Item"]["ExpiryTimeStamp"] == {"N": str(NOW + 60)}
    legacy = decode("payment", item(CircuitStatus="OPEN", OpenUntil=NOW + 5), NOW)
    assert "attribute_not_exists(Version)" in reset_request("T", legacy, actor="me", now=NOW)["ConditionExpression"]
    versioned = decode("payment", item(CircuitStatus="OPEN", OpenUntil=NOW + 5, Version=7), NOW)
    put = reset_request("T", versioned, actor="me", now=NOW)
    assert put["ExpressionAttributeValues"] == {":seenVersion": {"N": "7"}} and put["Item"]["Version"] == {"N": "8"}


# -- the race: another write between an operator's read and its write ---------------------------------------


class InterleavingDynamoDB:
    """Wraps a DynamoDB client: right after the first ``get_item``, runs ``meanwhile`` (another writer)."""

    def __init__(self, client: Any, meanwhile: Callable[[], None]) -> None:
        self._client = client
        self._meanwhile: Callable[[], None] | None = meanwhile

    def get_item(self, **kwargs: Any) -> Any:
        answer = self._client.get_item(**kwargs)
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def interleaved(breaker: Breaker, meanwhile: Callable[[], None]) -> Circuits:
    circuits = Circuits(breaker.engine.connection(), breaker.engine.deployment())
    circuits._dynamodb = InterleavingDynamoDB(circuits._dynamodb, meanwhile)
    return circuits


def workflow_opens(breaker: Breaker, callee: str) -> Callable[[], None]:
    """An update as the workflow's ``Open circuit`` makes it (conditional, ``Version`` incremented)."""

    def write() -> None:
        now = int(breaker.now())
        breaker.dynamodb.update_item(
            TableName=breaker.table,
            Key={"ServiceName": {"S": callee}},
            UpdateExpression="SET CircuitStatus = :open, OpenUntil = :until, ExpiryTimeStamp = :expiry, UpdatedAt = :now, "
            "Version = if_not_exists(Version, :zero) + :one REMOVE Failures, WindowEndsAt",
            ConditionExpression="CircuitStatus = :closed",
            ExpressionAttributeValues={
                ":open": {"S": "OPEN"}, ":closed": {"S": "CLOSED"}, ":until": {"N": str(now + 30)},
                ":expiry": {"N": str(now + 330)}, ":now": {"N": str(now)}, ":zero": {"N": "0"}, ":one": {"N": "1"},
            },  # fmt: skip
        )

    return write


def test_reset_never_overwrites_an_isolation_written_after_its_read(breaker: Breaker, transitions: EventCapture) -> None:
    breaker.call("flaky-once", {"fail": True})  # CLOSED, two failed attempts (UpdatedAt: this second)
    other = Circuits(breaker.engine.connection(), breaker.engine.deployment())
    circuits = interleaved(breaker, lambda: other.isolate("flaky-once", "incident 7"))
    change = circuits.reset("flaky-once")
    # the reset read CLOSED, lost its write to the isolation, read again and closed the ISOLATED circuit
    assert change.before.state is CircuitState.ISOLATED and change.changed
    assert breaker.item("flaky-once")["CircuitStatus"] == "CLOSED"
    events = [(e["detail"]["from"], e["detail"]["to"]) for e in transitions.drain()]
    assert events == [("CLOSED", "ISOLATED"), ("ISOLATED", "CLOSED")]


def test_reset_sees_the_workflow_open_the_circuit_in_the_same_second(breaker: Breaker, transitions: EventCapture) -> None:
    breaker.put_item("flaky", CircuitStatus="CLOSED", Failures=2, WindowEndsAt=int(breaker.now()) + 60, UpdatedAt=int(breaker.now()), Version=4)
    circuits = interleaved(breaker, workflow_opens(breaker, "flaky"))
    change = circuits.reset("flaky")
    assert change.before.state is CircuitState.OPEN and change.before.version == 5
    item = breaker.item("flaky")
    assert (item["CircuitStatus"], item["Version"]) == ("CLOSED", 6)
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in transitions.drain()] == [("OPEN", "CLOSED")]


def test_a_legacy_item_without_a_version_is_still_guarded(breaker: Breaker, transitions: EventCapture) -> None:
    breaker.put_item("flaky", CircuitStatus="CLOSED", Failures=1, WindowEndsAt=int(breaker.now()) + 60, UpdatedAt=int(breaker.now()))
    circuits = interleaved(breaker, workflow_opens(breaker, "flaky"))
    change = circuits.reset("flaky")
    assert change.before.state is CircuitState.OPEN and change.before.version == 1
    assert breaker.item("flaky")["Version"] == 2
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in transitions.drain()] == [("OPEN", "CLOSED")]


def test_isolate_refuses_when_another_operator_isolated_in_between(breaker: Breaker, transitions: EventCapture) -> None:
    other = Circuits(breaker.engine.connection(), breaker.engine.deployment())
    circuits = interleaved(breaker, lambda: other.isolate("echo", "first"))
    from circuit_breaker.operate.circuits import CircuitError

    with pytest.raises(CircuitError, match="already isolated"):
        circuits.isolate("echo", "second")
    assert breaker.item("echo")["Reason"] == "first" and breaker.item("echo")["Version"] == 1
    assert [e["detail"]["reason"] for e in transitions.drain()] == ["isolated by an operator: first"]


def test_the_workflow_still_reads_an_operators_versioned_item(breaker: Breaker) -> None:
    circuits = Circuits(breaker.engine.connection(), breaker.engine.deployment())
    circuits.isolate("echo", "maintenance")
    assert breaker.call("echo").error == "CircuitBreaker.CircuitIsolated"
    circuits.reset("echo")
    assert breaker.item("echo")["Version"] == 2
    assert breaker.call("echo", {"n": 1}).output == {"n": 1}


def test_an_item_name_tells_its_callee_key_and_shard() -> None:
    from circuit_breaker.core.record import ItemName, circuit_name, item_name_patterns, shard_names

    assert ItemName.parse("payment") == ItemName("payment")
    assert ItemName.parse("payment#tenant-7@3") == ItemName("payment", "tenant-7", 3)
    assert ItemName.parse("payment@2").circuit == "payment"
    assert ItemName.parse("odd@name") == ItemName("odd@name")  # not a shard number: a name of its own
    assert ItemName.parse("payment@0") == ItemName("payment@0")
    assert shard_names(circuit_name("payment", "t"), 3) == ["payment#t", "payment#t@1", "payment#t@2"]
    assert item_name_patterns("payment", 2, circuit_keys=True) == ["payment", "payment@1", "payment#*"]


def test_a_ramp_lets_a_growing_share_through() -> None:
    closed = decode("payment", {"CircuitStatus": {"S": "CLOSED"}, "ClosedAt": {"N": "1000"}, "ExpiryTimeStamp": {"N": "5000"}}, 1050)
    assert closed.closed_at == 1000
    assert closed.ramp_share(100, 0.1) == pytest.approx(0.55)
    assert closed.ramp_share(100, 0.1, now=1000) == pytest.approx(0.1)
    assert closed.ramp_share(100, 0.1, now=1100) == 1.0 and closed.ramp_share(0, 0.1) == 1.0
