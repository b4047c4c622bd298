"""Asynchronous calls lose nothing: the dead-letter queue holds every call that got no answer, and a redrive
re-submits each one once its circuit lets calls through, on the engine with its real SQS.

The callee ``recorder`` (registered in tests/conftest.py; created here with a DynamoDB table of its
own) records each idempotency key it is called with, with a conditional put: a key delivered twice is
one effect and one counted duplicate. It has no retries and a threshold of 3, so an outage opens its
circuit after three failures and fast-fails the rest; every one of them must end up in the queue.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest

from circuit_breaker.client.calls import AsyncCall, CircuitBreakerClient
from circuit_breaker.local.engine import LocalEngine
from circuit_breaker.operate.redrive import RedriveAction, RedriveError, RedriveInterrupted, RedriveReport, Redriver
from tests.conftest import RECORDER_NAME, Breaker, _zip, run_cli

RECORDS = "breaker-test-recorder-keys"
RECORDER_CODE = '''
import os

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")


def handler(event, context):
    custom = (context.client_context.custom if context.client_context else None) or {}
    key, depth = custom.get("idempotencyKey") or "(none)", custom.get("breakerDepth")
    try:
        dynamodb.put_item(
            TableName=os.environ["RECORDS"],
            Item={"Key": {"S": key}, "Depth": {"N": str(depth)}, "Deliveries": {"N": "1"}},
            ConditionExpression="attribute_not_exists(#key)",
            ExpressionAttributeNames={"#key": "Key"},
        )
        return {"key": key, "recorded": True}
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    dynamodb.update_item(
        TableName=os.environ["RECORDS"], Key={"Key": {"S": key}},
        UpdateExpression="ADD Deliveries :one", ExpressionAttributeValues={":one": {"N": "1"}},
    )
    return {"key": key, "recorded": False}
'''
DOWN = json.dumps({"errorMessage": "recorder is down", "errorType": "RecorderDown"}).encode()


@pytest.fixture(scope="module")
def recorder(engine: LocalEngine) -> str:
    """The recorder function and its table of keys, created once."""
    session = engine.session()
    session.client("dynamodb").create_table(
        TableName=RECORDS,
        KeySchema=[{"AttributeName": "Key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = session.client("iam").create_role(
        RoleName="recorder-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName=RECORDER_NAME, Runtime="python3.13", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip(RECORDER_CODE)}, Timeout=2, Environment={"Variables": {"RECORDS": RECORDS}},
    )  # fmt: skip
    return RECORDER_NAME


class World:
    """The breaker, its dead-letter queue and the recorder's table, as the tests look at them."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self.engine = breaker.engine
        self.sqs = self.engine.session().client("sqs")
        self.queue = self.engine.deployment().dead_letter_queue_url
        self.client = CircuitBreakerClient(self.engine.connection(), self.engine.deployment(), poll_interval=0.01)

    def empty(self) -> None:
        """Drain the queue (PurgeQueue allows one purge a minute) and forget every recorded key."""
        while messages := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            )
        dynamodb = self.breaker.dynamodb
        for item in dynamodb.scan(TableName=RECORDS).get("Items", []):
            dynamodb.delete_item(TableName=RECORDS, Key={"Key": item["Key"]})

    def down(self) -> None:
        self.engine.runtime.script(RECORDER_NAME, DOWN, "Unhandled", times=100_000)

    def heal(self) -> None:
        self.engine.runtime.clear_scripts()

    def break_over(self) -> None:
        """The break ended (as if its time had passed): the next call probes."""
        ended = int(time.time()) - 1
        self.breaker.put_item("recorder", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)

    def queued(self) -> tuple[int, int]:
        """Messages in the queue: (visible, held invisible)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def records(self) -> dict[str, dict[str, Any]]:
        """Every key the recorder recorded, with its deliveries and the depth it was called at."""
        items = self.breaker.dynamodb.scan(TableName=RECORDS, ConsistentRead=True).get("Items", [])
        return {i["Key"]["S"]: {"deliveries": int(i["Deliveries"]["N"]), "depth": int(i["Depth"]["N"])} for i in items}

    def finish(self, arns: list[str]) -> list[dict[str, Any]]:
        return [self.client.wait(arn, timeout=60) for arn in arns]

    def redriver(self) -> Redriver:
        return Redriver(self.engine.connection(), self.engine.deployment(), wait_seconds=0)


@pytest.fixture
def world(breaker: Breaker, recorder: str) -> Iterator[World]:
    made = World(breaker)
    made.empty()
    yield made
    made.heal()
    made.empty()


def started(report: RedriveReport) -> list[str]:
    return [o.execution_arn for o in report.outcomes if o.action is RedriveAction.RESUBMITTED and o.execution_arn]


def test_an_outage_loses_no_call_and_redrives_duplicate_none(world: World) -> None:
    world.down()
    calls: list[AsyncCall] = [world.client.call_async("recorder", {"order": n}) for n in range(100)]
    keys = {call.idempotency_key for call in calls}
    finished = world.finish([call.execution_arn for call in calls])
    succeeded = {call.idempotency_key for call, end in zip(calls, finished) if end["status"] == "SUCCEEDED"}
    errors = {end.get("error") for end in finished if end["status"] != "SUCCEEDED"}
    assert errors <= {"CircuitBreaker.CalleeFailed", "CircuitBreaker.CircuitOpen"}
    assert world.breaker.item("recorder")["CircuitStatus"] == "OPEN"

    # nothing lost: every call succeeded or sits in the queue (a dry run lists them and changes nothing)
    listed = world.redriver().run(dry_run=True)
    queued = {o.idempotency_key for o in listed.outcomes}
    assert all(o.action is RedriveAction.LEFT and "is open" in o.reason for o in listed.outcomes)
    assert len(listed.outcomes) == len(queued) == 100 - len(succeeded)
    assert queued | succeeded == keys and not queued & succeeded
    assert world.queued() == (len(queued), 0)

    world.heal()
    world.break_over()
    # a redrive that stops when a message cannot be deleted after its execution started ...
    world.engine.faults.inject("sqs", "DeleteMessage", "AccessDeniedException", skip=20, times=1)
    with pytest.raises(RedriveInterrupted) as first:
        world.redriver().run()
    probe = first.value.report.outcomes[0]
    assert probe.reason.startswith("as the probe") and probe.probe_status == "SUCCEEDED"
    assert len(first.value.report.resubmitted) == 21  # the 21st started; its message could not be deleted
    undeleted = first.value.report.outcomes[-1]
    assert "could not be deleted" in undeleted.reason
    assert world.queued() == (len(queued) - 20, 0)  # the undeleted one is back, nothing held
    # ... and one that stops when StartExecution fails
    world.engine.faults.inject("stepfunctions", "StartExecution", "ExecutionLimitExceeded", skip=30, times=1)
    with pytest.raises(RedriveInterrupted) as second:
        world.redriver().run()
    assert len(second.value.report.resubmitted) == 30  # the undeleted one among them, again
    assert world.queued() == (len(queued) - 50, 0)
    # run again: the rest
    last = world.redriver().run()
    assert len(last.resubmitted) == len(queued) - 50 and last.left == []
    arns = started(first.value.report) + started(second.value.report) + started(last)
    assert all(end["status"] == "SUCCEEDED" for end in world.finish(arns))
    assert world.queued() == (0, 0)

    # every key had exactly one effect; the one whose message could not be deleted was delivered twice
    records = world.records()
    assert set(records) == queued
    redelivered = {key for key, record in records.items() if record["deliveries"] > 1}
    assert redelivered == {undeleted.idempotency_key} and records[undeleted.idempotency_key]["deliveries"] == 2


def test_redriven_calls_keep_their_key_and_depth(world: World) -> None:
    world.down()
    deep = world.client.call_async("recorder", {"n": 1}, depth=14)
    assert world.finish([deep.execution_arn])[0]["status"] == "FAILED"
    world.heal()
    report = world.redriver().run()
    [outcome] = report.outcomes
    assert outcome.idempotency_key == deep.idempotency_key and outcome.error == "CircuitBreaker.CalleeFailed"
    assert outcome.failed_execution_arn == deep.execution_arn
    [end] = world.finish(started(report))
    assert json.loads(end["input"]) == {"callee": "recorder", "payload": {"n": 1}, "depth": 14, "idempotencyKey": deep.idempotency_key}
    assert world.records()[deep.idempotency_key] == {"deliveries": 1, "depth": 15}


def test_a_call_at_the_depth_limit_is_refused_again_when_redriven(world: World) -> None:
    """A loop that reached the limit while its callee was down does not start again from a redrive."""
    world.down()
    edge = world.client.call_async("recorder", {"loop": True}, depth=15)
    world.finish([edge.execution_arn])
    world.heal()
    report = world.redriver().run()
    [end] = world.finish(started(report))
    assert end["status"] == "SUCCEEDED"  # depth 15 may still call; the callee gets 16, and its own call is refused
    refused = world.client.call_async("recorder", {"loop": True}, depth=16)
    [end] = world.finish([refused.execution_arn])
    assert end["error"] == "CircuitBreaker.RecursionLimitExceeded"
    assert world.queued() == (0, 0)  # not an outage: nothing to redrive


def test_calls_whose_circuit_refuses_calls_stay_queued(world: World) -> None:
    world.down()
    calls = [world.client.call_async("recorder", {"n": n}) for n in range(4)]
    world.finish([c.execution_arn for c in calls])
    world.heal()
    world.breaker.put_item("recorder", CircuitStatus="ISOLATED", Reason="maintenance")
    report = world.redriver().run()
    assert [o.action for o in report.outcomes] == [RedriveAction.LEFT] * 4
    assert "isolated until reset: maintenance" in report.outcomes[0].reason
    assert report.remaining == 4 and world.queued() == (4, 0)
    half_open = int(time.time()) + world.engine.deployment().limits("recorder").probe_lease_seconds
    world.breaker.put_item("recorder", CircuitStatus="HALF_OPEN", ProbeLeaseUntil=half_open, ExpiryTimeStamp=half_open + 300)
    report = world.redriver().run()
    assert {o.reason for o in report.outcomes} == {"circuit of recorder is half-open: a probe is in flight"}
    assert {o.retry_after for o in report.outcomes} == {half_open}


def test_a_redrive_resubmits_each_key_once_even_if_it_fails_again(world: World) -> None:
    world.down()
    calls = [world.client.call_async("recorder", {"n": n}) for n in range(6)]
    world.finish([c.execution_arn for c in calls])
    world.breaker.clear()  # an operator reset the circuit; the callee is still down
    world.down()
    report = world.redriver().run()
    keys = [o.idempotency_key for o in report.outcomes if o.action is RedriveAction.RESUBMITTED]
    assert sorted(keys) == sorted(c.idempotency_key for c in calls)  # each once, though its new execution failed
    world.finish(started(report))
    assert world.queued() == (6, 0)  # every call is back in the queue, once


def test_only_the_named_callee_and_at_most_max_are_redriven(world: World) -> None:
    world.down()
    calls = [world.client.call_async("recorder", {"n": n}) for n in range(3)]
    world.finish([c.execution_arn for c in calls])
    world.sqs.send_message(QueueUrl=world.queue, MessageBody=json.dumps({"input": {"callee": "echo", "idempotencyKey": "other-1"}}))
    world.sqs.send_message(QueueUrl=world.queue, MessageBody="not json")
    world.heal()
    world.breaker.clear()
    dry = world.redriver().run(dry_run=True)
    only = world.redriver().run("recorder", max_messages=2)
    assert len(only.resubmitted) == 2 and {o.callee for o in only.outcomes} == {"recorder"}
    assert world.queued() == (3, 0)
    rest = world.redriver().run()
    actions = {(o.callee, o.action) for o in rest.outcomes}
    assert actions == {("recorder", RedriveAction.RESUBMITTED), ("echo", RedriveAction.RESUBMITTED), (None, RedriveAction.LEFT)}
    assert next(o for o in rest.outcomes if o.action is RedriveAction.LEFT).reason == "malformed message: its body is not JSON"
    assert world.queued() == (1, 0)
    assert len(dry.outcomes) == 5


#: Edits of a dead-letter message's input that the workflow's Check input refuses, and what it says.
REFUSED_INPUTS = [
    ({"depth": "deep"}, "depth must be a whole number"),
    ({"depth": -1}, "depth must be a whole number"),
    ({"depth": 2_000_000}, "depth must be a whole number"),
    ({"depth": 0.5}, "depth must be a whole number"),
    ({"depth": True}, "depth must be a whole number"),
    ({"idempotencyKey": "key-1\n"}, "idempotencyKey must be 1 to 128"),
    ({"idempotencyKey": "k" * 129}, "idempotencyKey must be 1 to 128"),
    ({"callee": ""}, "callee must be a non-empty string"),
]


def test_a_message_whose_input_the_workflow_refuses_is_left_in_the_queue(world: World) -> None:
    """Re-submitted, such an input fails with InvalidInput and is never dead-lettered again: the call would be gone."""
    world.down()
    call = world.client.call_async("recorder", {"n": 1})
    world.finish([call.execution_arn])
    [message] = world.sqs.receive_message(QueueUrl=world.queue, WaitTimeSeconds=0)["Messages"]
    world.sqs.delete_message(QueueUrl=world.queue, ReceiptHandle=message["ReceiptHandle"])
    for changed, _ in REFUSED_INPUTS:  # the workflow's own message, its input edited as an adversary would
        body = json.loads(message["Body"])
        body["input"].update(changed)
        world.sqs.send_message(QueueUrl=world.queue, MessageBody=json.dumps(body))
    world.sqs.send_message(QueueUrl=world.queue, MessageBody='{"input": {"callee": "recorder", "idempotencyKey": "k-1", "depth": NaN}}')
    world.heal()
    world.breaker.clear()
    starts: list[int] = []
    world.engine.faults.run_before("stepfunctions", "StartExecution", lambda: starts.append(1), times=10**9)
    outcomes = world.redriver().run().outcomes
    assert len(outcomes) == len(REFUSED_INPUTS) + 1 and all(o.action is RedriveAction.LEFT for o in outcomes)
    reasons = sorted(o.reason for o in outcomes)
    expected = sorted([f"malformed message: the workflow would refuse its input: {says}" for _, says in REFUSED_INPUTS] + ["malformed message: its body is not JSON"])
    assert [r[: len(e)] for r, e in zip(reasons, expected)] == expected
    assert starts == [] and world.queued() == (len(REFUSED_INPUTS) + 1, 0)  # nothing started, nothing deleted


def test_a_breaker_without_a_queue_is_explained(world: World) -> None:
    from dataclasses import replace

    with pytest.raises(RedriveError, match="no dead-letter queue"):
        Redriver(world.engine.connection(), replace(world.engine.deployment(), dead_letter_queue_url=None))


# -- the CLI ----------------------------------------------------------------------------------------------


def test_the_cli_redrives_and_says_what_it_did(world: World, endpoint: str) -> None:
    code, out, err = run_cli(endpoint, "call", "recorder", "--async", "--idempotency-key", "order-1", "-p", '{"n": 1}')
    assert code == 0 and out.strip() == "order-1" and "dead-letter queue" in err
    first = err.rsplit("execution ", 1)[1].strip()
    code, out, _ = run_cli(endpoint, "call", "recorder", "--async", "--json", "-p", '{"n": 2}')
    second = json.loads(out)
    assert second["status"] == "STARTED" and second["idempotencyKey"]
    assert [end["status"] for end in world.finish([first, second["executionArn"]])] == ["SUCCEEDED"] * 2
    assert "order-1" in world.records()  # (the recorder saw the key it was given)
    world.down()
    world.finish([json.loads(run_cli(endpoint, "call", "recorder", "--async", "--json", "--idempotency-key", key)[1])["executionArn"] for key in ("order-2", "order-3")])
    world.heal()
    world.breaker.put_item("recorder", CircuitStatus="ISOLATED", Reason="maintenance")

    code, out, _ = run_cli(endpoint, "redrive", "recorder")
    assert code == 0
    assert "left" in out and "order-2" in out and "isolated until reset: maintenance" in out
    assert "resubmitted 0, left 2" in out

    world.breaker.clear()
    code, out, _ = run_cli(endpoint, "redrive", "--dry-run")
    assert code == 0 and "would resubmit 2, left 0" in out and "nothing was started or deleted" in out
    code, out, _ = run_cli(endpoint, "redrive", "--max", "1", "--json")
    report = json.loads(out)
    assert code == 0 and report["resubmitted"] == 1 and report["messages"][0]["action"] == "resubmitted"
    assert report["messages"][0]["executionArn"].startswith("arn:aws:states:")

    world.engine.faults.inject("stepfunctions", "StartExecution", "ExecutionLimitExceeded", times=1)
    code, out, err = run_cli(endpoint, "redrive")
    assert code == 1 and "redrive stopped halfway" in err and "run breaker redrive again" in err
    assert "Traceback" not in err
    code, out, _ = run_cli(endpoint, "redrive")
    assert code == 0 and "resubmitted 1, left 0" in out and "about 0 message(s) in the queue" in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["call", "echo", "--idempotency-key", "k1"], "--idempotency-key goes with --async"),
        (["call", "echo", "--async", "--idempotency-key", "has space"], "idempotencyKey must be 1 to 128"),
        (["redrive", "--max", "0"], "--max"),
        (["redrive", "nosuch"], "not registered"),
    ],
)
def test_bad_arguments_are_explained(endpoint: str, breaker: Breaker, args: list[str], says: str) -> None:
    code, out, err = run_cli(endpoint, *args)
    assert code == 2 and says in err and "Traceback" not in err


def test_a_call_through_a_key_s_circuit_is_redriven_by_that_key_s_circuit(world: World) -> None:
    """``flaky-sharded`` has circuit keys: tenant-a's circuit is open, tenant-b's closed; each call waits for its own."""
    failed = [world.client.call_async("flaky-sharded", {"fail": True}, key=tenant) for tenant in ("tenant-a", "tenant-b")]
    world.finish([c.execution_arn for c in failed])
    until = int(time.time()) + 8
    world.breaker.put_item("flaky-sharded#tenant-a", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 8, ConsecutiveOpens=1)
    world.breaker.put_item("flaky-sharded#tenant-b", CircuitStatus="CLOSED", ExpiryTimeStamp=until + 8)
    report = world.redriver().run("flaky-sharded", dry_run=True)
    by_key = {o.idempotency_key: o for o in report.outcomes}
    tenant_a, tenant_b = (by_key[c.idempotency_key] for c in failed)
    assert tenant_a.action is RedriveAction.LEFT and "is open" in tenant_a.reason and tenant_a.retry_after == until
    assert tenant_b.action is RedriveAction.WOULD_RESUBMIT
