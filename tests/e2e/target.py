"""The breaker under test, reached only as AWS's clients reach it: boto3, and the ``breaker`` CLI as a subprocess.

The driver (``tools/e2e/``, ``make e2e`` / ``make e2e-aws``) deploys a stack and writes where it is to the JSON
file ``$E2E_TARGET``::

    {"kind": "local" | "aws", "stack": "CircuitBreakerE2E-1a2b3c4d", "region": "eu-west-1",
     "endpoint_url": "http://127.0.0.1:40123" | null, "profile": "dev" | null}

Nothing here imports the project's package: every fact comes from an AWS API (CloudFormation's outputs,
Step Functions, DynamoDB, CloudWatch Logs, SQS, Lambda) or from the CLI's output, exactly what an operator
has. Express executions are read the way the console reads them, from the state machine's log group.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, TypeVar

import boto3
from botocore.config import Config

TARGET_VARIABLE = "E2E_TARGET"
#: How long CloudWatch Logs may take to deliver an execution's records, or a metric its data points (AWS).
LOG_DELIVERY_SECONDS = 180.0
METRIC_DELIVERY_SECONDS = 420.0
#: One CLI command never takes longer than this (a call waits at most its deadline, 20 s in the e2e stack).
CLI_TIMEOUT_SECONDS = 120.0

T = TypeVar("T")


class TargetMissingError(RuntimeError):
    """``$E2E_TARGET`` is unset or unreadable: the suite was started without the driver."""


def eventually(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """``probe()``'s first non-``None`` answer; fail saying ``what`` did not happen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(interval)


def sleep_until(epoch: float) -> None:
    """Wait until the wall clock passes ``epoch`` (a break's end, written by the workflow's clock)."""
    time.sleep(max(0.0, epoch - time.time()))


@dataclass(frozen=True)
class Outcome:
    """One execution as StartSyncExecution answered it."""

    arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: Any = None


@dataclass(frozen=True)
class ExecutionLog:
    """An execution's records in the state machine's log group, in order (what the console shows for Express)."""

    records: list[dict[str, Any]]

    @property
    def states(self) -> list[str]:
        """Every state entered, in order."""
        return [r["details"]["name"] for r in self.records if r["type"].endswith("StateEntered")]

    @property
    def terminal(self) -> dict[str, Any] | None:
        return next((r for r in self.records if r["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")), None)

    def waits(self, state: str) -> list[float]:
        """Seconds spent in each visit of the Wait state ``state`` (from its entered and exited records)."""
        entered = [int(r["event_timestamp"]) for r in self.records if r["type"] == "WaitStateEntered" and r["details"].get("name") == state]
        exited = [int(r["event_timestamp"]) for r in self.records if r["type"] == "WaitStateExited" and r["details"].get("name") == state]
        return [(out - into) / 1000 for into, out in zip(entered, exited)]


@dataclass
class Target:
    """Where the stack under test is, and the clients and CLI that reach it."""

    kind: str
    stack: str
    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environment(cls) -> "Target":
        path = os.environ.get(TARGET_VARIABLE)
        if not path:
            raise TargetMissingError(f"${TARGET_VARIABLE} is not set: run the suite with `make e2e` (local engine) or `make e2e-aws` (AWS)")
        try:
            document = json.loads(Path(path).read_text())
            target = cls(document["kind"], document["stack"], document["region"], document.get("endpoint_url"), document.get("profile"))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise TargetMissingError(f"${TARGET_VARIABLE}={path} is not a target file the driver wrote: {error}") from None
        if target.kind not in ("local", "aws"):
            raise TargetMissingError(f"{path}: kind must be local or aws, got {target.kind!r}")
        return target

    @property
    def on_aws(self) -> bool:
        return self.kind == "aws"

    # -- AWS's clients ---------------------------------------------------------------------------------

    @cached_property
    def session(self) -> boto3.session.Session:
        if self.endpoint_url:
            return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=self.region)
        return boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            # A local endpoint must not get botocore's host prefixes (StartSyncExecution goes to sync-<host>).
            config = Config(inject_host_prefix=False, read_timeout=90) if self.endpoint_url else Config(read_timeout=90)
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=config)
        return self._clients[service]

    @cached_property
    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    @property
    def log_group(self) -> str:
        return self.outputs["ExecutionLogGroupName"]

    @property
    def callees(self) -> list[str]:
        return sorted(self.outputs["RegisteredCallees"].split(","))

    # -- the workflow ----------------------------------------------------------------------------------

    def run(self, document: Any) -> Outcome:
        """One synchronous execution with ``document`` as its input (a string is sent as it is)."""
        text = document if isinstance(document, str) else json.dumps(document)
        answer = self.client("stepfunctions").start_sync_execution(stateMachineArn=self.state_machine_arn, input=text)
        cause = answer.get("cause")
        try:
            cause = json.loads(cause) if cause else None
        except ValueError:
            pass
        output = json.loads(answer["output"]) if answer.get("output") else None
        return Outcome(answer["executionArn"], answer["status"], output, answer.get("error"), cause)

    def call(self, callee: str, payload: Any = None, **extra: Any) -> Outcome:
        document: dict[str, Any] = {"callee": callee, **extra}
        if payload is not None:
            document["payload"] = payload
        return self.run(document)

    def item(self, callee: str) -> dict[str, Any] | None:
        """The callee's circuit item as DynamoDB holds it (numbers as numbers)."""
        table = self.outputs["CircuitTableName"]
        found = self.client("dynamodb").get_item(TableName=table, Key={"ServiceName": {"S": callee}}, ConsistentRead=True).get("Item")
        if found is None:
            return None
        return {k: (float(v["N"]) if "." in v["N"] else int(v["N"])) if "N" in v else next(iter(v.values())) for k, v in found.items()}

    def execution_log(self, arn: str, timeout: float = LOG_DELIVERY_SECONDS) -> ExecutionLog:
        """The execution's records in the log group, once its last one (succeeded, failed...) has arrived."""
        logs = self.client("logs")
        execution_id = arn.rsplit(":", 1)[-1]

        def complete() -> ExecutionLog | None:
            records: list[dict[str, Any]] = []
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=self.log_group, filterPattern=f'"{execution_id}"'):
                for event in page["events"]:
                    record = json.loads(event["message"])
                    if record.get("execution_arn") == arn:
                        records.append(record)
            log = ExecutionLog(sorted(records, key=lambda r: int(r["id"])))
            return log if log.terminal is not None else None

        return eventually(complete, timeout, f"the log group {self.log_group} did not receive the last record of {arn}", interval=2.0)

    # -- the CLI ---------------------------------------------------------------------------------------

    def cli(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        """``breaker --stack S --region R [--endpoint-url U | --profile P] ARGS``; fails unless it exits ``check``."""
        command = [_breaker(), "--stack", self.stack, "--region", self.region]
        environment = dict(os.environ)
        if self.endpoint_url:
            command += ["--endpoint-url", self.endpoint_url]
            environment.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
            environment.pop("AWS_PROFILE", None)
        elif self.profile:
            command += ["--profile", self.profile]
        finished = subprocess.run([*command, *args], capture_output=True, text=True, env=environment, timeout=CLI_TIMEOUT_SECONDS)
        if check is not None and finished.returncode != check:
            raise AssertionError(
                f"`breaker {' '.join(args)}` exited {finished.returncode}, expected {check}\nstdout: {finished.stdout}\nstderr: {finished.stderr}"
            )
        return finished

    def cli_json(self, *args: str, check: int | None = 0) -> Any:
        return json.loads(self.cli(*args, "--json", check=check).stdout)

    def reset(self, callee: str) -> None:
        self.cli("reset", callee)


def _breaker() -> str:
    """The ``breaker`` command of the environment running the suite."""
    beside = Path(sys.executable).with_name("breaker")
    return str(beside) if beside.exists() else (shutil.which("breaker") or "breaker")
