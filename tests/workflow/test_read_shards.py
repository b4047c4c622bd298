"""Read shards: a circuit kept on N items, one read at random per call, every transition copied to all of them.

``flaky-sharded`` has ``read_shards: 4`` (items ``flaky-sharded`` and ``flaky-sharded@1`` … ``@3``) and eventually
consistent reads. The promises tested here, through the real ASL on the engine: reads spread over the shards; a
transition lands on every shard; a reader of a shard that missed a change calls the callee at most once and never
holds the circuit shut; two probes never run at once. The interleavings are forced by holding the transition's
shard writes (``FaultInjector.run_before``) while readers run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Breaker

CALLEE = "flaky-sharded"
SHARDS = [CALLEE, *(f"{CALLEE}@{n}" for n in range(1, 4))]
FAIL = {"fail": True}


def scheduled_reads(breaker: Breaker, arn: str) -> list[dict]:
    """The arguments of every ``Get circuit`` read of the execution, as its history recorded them."""
    events = breaker.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    reads = []
    for event in events:
        details = event.get("taskScheduledEventDetails")
        if details and details["resource"] == "getItem":
            reads.append(json.loads(details["parameters"]))
    return reads


def shard_items(breaker: Breaker, callee: str = CALLEE) -> dict[str, dict]:
    return {name: breaker.item(name) for name in [callee, *(f"{callee}@{n}" for n in range(1, 4))]}


def test_each_call_reads_one_shard_chosen_at_random_eventually_consistent(breaker: Breaker) -> None:
    read = Counter()
    for _ in range(24):
        outcome = breaker.call(CALLEE, {"n": 1})
        assert outcome.status == "SUCCEEDED" and outcome.states == ["Check input", "Get circuit", "Check circuit", "Call callee"]
        [arguments] = scheduled_reads(breaker, outcome.arn)
        assert arguments["ConsistentRead"] is False
        read[arguments["Key"]["ServiceName"]["S"]] += 1
    assert set(read) <= set(SHARDS) and len(read) >= 3, read  # 24 draws of 4: all on at most 2 shards has odds ~1e-6
    assert all(item is None for item in shard_items(breaker).values())  # the healthy path writes nothing


def test_an_open_lands_on_every_shard_and_every_shard_fails_fast(breaker: Breaker) -> None:
    before = breaker.invocations("Flaky")
    opened = breaker.call(CALLEE, FAIL)
    assert opened.error == "CircuitBreaker.CalleeFailed" and opened.cause["circuitOpened"] is True
    assert "Update read shards" in opened.states and opened.states.count("Read circuit for shards") == 2
    items = shard_items(breaker)
    assert {item["CircuitStatus"] for item in items.values()} == {"OPEN"}
    assert len({item["OpenUntil"] for item in items.values()}) == 1
    assert len({item["ExpiryTimeStamp"] for item in items.values()}) == 1
    assert all(items[name]["ShardOf"] == CALLEE for name in SHARDS[1:])
    assert "Failures" not in items[CALLEE]
    for _ in range(12):
        fast = breaker.call(CALLEE, {"n": 2})
        assert fast.error == "CircuitBreaker.CircuitOpen" and fast.cause["attempts"] == 0
    assert breaker.invocations("Flaky") - before == 1


def test_a_reader_of_a_shard_that_missed_an_open_calls_once_and_then_hears_the_primary(breaker: Breaker) -> None:
    """The interleaving: the circuit opened on the primary, its shard writes have not landed yet."""
    until = int(breaker.now()) + 8  # max_break_seconds: a longer break would count as over
    breaker.put_item(CALLEE, CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 8, ConsecutiveOpens=1, Version=3)
    before = breaker.invocations("Flaky")
    outcomes = [breaker.call(CALLEE, FAIL) for _ in range(16)]
    called = [o for o in outcomes if o.error == "CircuitBreaker.CalleeFailed"]
    assert called and len(called) < 16  # some read a stale (absent) shard, some the primary
    assert all(o.cause["attempts"] == 1 and o.cause["circuitOpened"] is False for o in called)
    assert all(o.error == "CircuitBreaker.CircuitOpen" for o in outcomes if o not in called)
    assert breaker.invocations("Flaky") - before == len(called)
    assert breaker.item(CALLEE)["OpenUntil"] == until  # a stale reader's failure never moves the break


def test_a_shard_left_open_after_a_close_is_repaired_by_its_first_reader(breaker: Breaker) -> None:
    """The interleaving: a probe closed the primary; the shards still say OPEN with the break over."""
    now = int(breaker.now())
    breaker.put_item(CALLEE, CircuitStatus="CLOSED", ClosedAt=now - 5, ExpiryTimeStamp=now + 300, Version=7)
    for name in SHARDS[1:]:
        breaker.put_item(name, CircuitStatus="OPEN", OpenUntil=now - 5, ExpiryTimeStamp=now + 300, ConsecutiveOpens=1, ShardOf=CALLEE)
    outcomes = [breaker.call(CALLEE, {"n": 3}) for _ in range(12)]
    assert all(o.status == "SUCCEEDED" and o.output == {"n": 3} for o in outcomes)  # the circuit is never held shut
    repaired = [o for o in outcomes if "Update read shards" in o.states]
    assert len(repaired) == 1, [o.states for o in outcomes]  # the first reader of a stale shard repaired them all
    assert repaired[0].states[:6] == ["Check input", "Get circuit", "Check circuit", "Take probe lease", "Lost the probe lease?", "Get circuit"]
    assert {item["CircuitStatus"] for item in shard_items(breaker).values()} == {"CLOSED"}


def test_readers_of_every_shard_let_one_probe_through(breaker: Breaker) -> None:
    """Forced interleaving: the probe is held inside the callee while callers read every shard."""
    ended = int(breaker.now()) - 1
    for name in SHARDS:
        breaker.put_item(name, CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 8, ConsecutiveOpens=1,
                         **({"ShardOf": CALLEE} if name != CALLEE else {}))  # fmt: skip
    reached, release = threading.Event(), threading.Event()
    breaker.engine.faults.run_before("lambda", "Invoke", lambda: (reached.set(), release.wait(20)))
    before = breaker.invocations("Flaky")
    probe = breaker.start({"callee": CALLEE, "payload": {"probe": 1}})
    assert reached.wait(20), "no probe started"
    with ThreadPoolExecutor(max_workers=6) as pool:
        others = list(pool.map(lambda _: breaker.call(CALLEE, {"n": 5}), range(12)))
    release.set()
    probed = breaker.finish(probe)
    assert probed.status == "SUCCEEDED" and "Call probe" in probed.states
    assert all(o.error == "CircuitBreaker.CircuitOpen" and o.cause["state"] == "HALF_OPEN" for o in others), [o.states for o in others]
    assert breaker.invocations("Flaky") - before == 1
    assert {item["CircuitStatus"] for item in shard_items(breaker).values()} == {"CLOSED"}  # the close reached every shard


def test_readers_during_an_open_s_shard_writes_call_at_most_once_and_the_shards_end_open(breaker: Breaker) -> None:
    """Forced interleaving: the opening execution is held at its first shard write while other callers read."""
    reached, release = threading.Event(), threading.Event()

    def hold() -> None:
        reached.set()
        release.wait(20)

    breaker.engine.faults.run_before("dynamodb", "PutItem", hold)
    opener = breaker.start({"callee": CALLEE, "payload": FAIL})
    assert reached.wait(20), "the opening execution never wrote a shard"
    assert breaker.item(CALLEE)["CircuitStatus"] == "OPEN"
    before = breaker.invocations("Flaky")
    readers = [breaker.call(CALLEE, FAIL) for _ in range(10)]
    release.set()
    opened = breaker.finish(opener)
    assert opened.cause["circuitOpened"] is True
    assert all(o.cause["attempts"] <= 1 for o in readers)  # a stale shard costs one call, never a retry
    assert any(o.cause["attempts"] == 1 for o in readers)  # some read a shard the open had not reached yet
    assert sum(o.cause["attempts"] for o in readers) == breaker.invocations("Flaky") - before
    assert {item["CircuitStatus"] for item in shard_items(breaker).values()} == {"OPEN"}
    assert all(o.error == "CircuitBreaker.CircuitOpen" for o in (breaker.call(CALLEE, FAIL) for _ in range(6)))


def test_a_change_made_while_the_shards_are_written_is_the_one_they_end_with(breaker: Breaker) -> None:
    """Forced interleaving: an operator resets the circuit between the open's primary write and its shard writes."""
    reset_done = threading.Event()

    def reset() -> None:
        if not reset_done.is_set():
            now = int(time.time())
            breaker.put_item(CALLEE, CircuitStatus="CLOSED", ExpiryTimeStamp=now + 3600, Version=99)
            reset_done.set()

    breaker.engine.faults.run_before("dynamodb", "PutItem", reset)
    opened = breaker.call(CALLEE, FAIL)
    assert reset_done.is_set() and opened.cause["circuitOpened"] is True
    assert opened.states.count("Read circuit for shards") == 3  # copied, saw the primary change, copied again
    assert {item["CircuitStatus"] for item in shard_items(breaker).values()} == {"CLOSED"}
    assert breaker.call(CALLEE, {"n": 4}).status == "SUCCEEDED"
