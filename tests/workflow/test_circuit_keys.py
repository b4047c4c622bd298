"""Circuit keys: a callee registered with ``circuit_keys`` gives each input ``key`` (a tenant) a circuit of its own.

``flaky-sharded`` has circuit keys (and 4 read shards, which each key's circuit has too): one failing tenant opens
its own circuit, never the others'; the key is validated as the workflow's contract says; operators, the client and
the CLI address one key's circuit.
"""

from __future__ import annotations

import json

import pytest

from circuit_breaker.client import CircuitOpenError, InvalidInputError
from tests.conftest import Breaker, run_cli

CALLEE = "flaky-sharded"
FAIL = {"fail": True}


@pytest.mark.parametrize("key", ["", "a b", "x" * 65, "tenant#1", "tenant@2", 7, None, ["k"]])
def test_a_malformed_key_is_invalid_input(breaker: Breaker, key: object) -> None:
    outcome = breaker.run({"callee": CALLEE, "key": key})
    assert outcome.error == "CircuitBreaker.InvalidInput" and "key must be 1 to 64" in outcome.cause["message"]


def test_a_key_for_a_callee_without_circuit_keys_is_invalid_input(breaker: Breaker) -> None:
    outcome = breaker.call("flaky", {"n": 1}, key="tenant-1")
    assert outcome.error == "CircuitBreaker.InvalidInput"
    assert outcome.cause["message"] == "callee flaky has one circuit for every call: leave key out, or register it with circuit_keys: true"


def test_one_failing_tenant_opens_only_its_own_circuit(breaker: Breaker, transitions) -> None:
    opened = breaker.call(CALLEE, FAIL, key="tenant-a")
    assert opened.cause["circuitOpened"] is True and opened.cause["key"] == "tenant-a"
    assert {breaker.item(f"{CALLEE}#tenant-a{s}")["CircuitStatus"] for s in ("", "@1", "@2", "@3")} == {"OPEN"}
    [event] = [e["detail"] for e in transitions.drain() if e["detail"]["to"] == "OPEN"]
    assert event["callee"] == CALLEE and event["key"] == "tenant-a"
    fast = breaker.call(CALLEE, {"n": 2}, key="tenant-a")
    assert fast.error == "CircuitBreaker.CircuitOpen" and fast.cause["key"] == "tenant-a"
    assert breaker.call(CALLEE, {"n": 3}, key="tenant-b").output == {"n": 3}  # another tenant goes through
    assert breaker.call(CALLEE, {"n": 4}).output == {"n": 4}  # and so do calls without a key
    assert breaker.item(CALLEE) is None and breaker.item(f"{CALLEE}#tenant-b") is None


def test_the_client_and_its_cache_keep_keys_apart(breaker: Breaker) -> None:
    breaker.call(CALLEE, FAIL, key="tenant-c")
    client = breaker.client
    with pytest.raises(CircuitOpenError) as first:
        client.call(CALLEE, {"n": 5}, key="tenant-c")
    assert first.value.field("key") == "tenant-c" and not first.value.cached
    with pytest.raises(CircuitOpenError) as again:
        client.call(CALLEE, {"n": 5}, key="tenant-c")
    assert again.value.cached  # remembered for that key only
    assert client.call(CALLEE, {"n": 6}, key="tenant-d").output == {"n": 6}
    assert client.call(CALLEE, {"n": 7}).output == {"n": 7}
    with pytest.raises(InvalidInputError):
        client.call(CALLEE, {"n": 8}, key="not a key")


def test_operators_see_isolate_and_reset_one_key(breaker: Breaker, endpoint: str) -> None:
    breaker.call(CALLEE, FAIL, key="tenant-e")
    code, out, err = run_cli(endpoint, "status", "--json")
    assert code == 0, err
    circuits = {view["circuit"]: view for view in json.loads(out)}
    assert circuits[f"{CALLEE}#tenant-e"]["state"] == "OPEN" and circuits[f"{CALLEE}#tenant-e"]["key"] == "tenant-e"
    assert circuits[f"{CALLEE}#tenant-e"]["read_shards"] == 4 and circuits[f"{CALLEE}#tenant-e"]["lagging_shards"] == []
    assert not any("@" in name for name in circuits)  # read shards are not circuits of their own
    code, out, err = run_cli(endpoint, "isolate", CALLEE, "--key", "tenant-f", "--reason", "abuse")
    assert code == 0 and f"{CALLEE}#tenant-f isolated" in out, err
    assert {breaker.item(f"{CALLEE}#tenant-f{s}")["CircuitStatus"] for s in ("", "@1", "@2", "@3")} == {"ISOLATED"}
    isolated = breaker.call(CALLEE, {"n": 9}, key="tenant-f")
    assert isolated.error == "CircuitBreaker.CircuitIsolated" and isolated.cause["reason"] == "abuse"
    assert breaker.call(CALLEE, {"n": 9}, key="tenant-g").status == "SUCCEEDED"
    code, out, err = run_cli(endpoint, "reset", CALLEE, "--key", "tenant-e")
    assert code == 0, err
    assert {breaker.item(f"{CALLEE}#tenant-e{s}")["CircuitStatus"] for s in ("", "@1", "@2", "@3")} == {"CLOSED"}
    assert breaker.call(CALLEE, {"n": 10}, key="tenant-e").status == "SUCCEEDED"
    code, _, err = run_cli(endpoint, "reset", "flaky", "--key", "tenant-e")
    assert code == 2 and "no circuit_keys" in err
    code, out, err = run_cli(endpoint, "call", CALLEE, "--key", "tenant-h", "-p", '{"n": 11}')
    assert code == 0 and json.loads(out) == {"n": 11}, err
