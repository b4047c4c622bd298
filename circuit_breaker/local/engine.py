"""The embedded local engine: moto with Step Functions execution, patched to run this workflow as AWS does.

One :class:`LocalEngine` holds one in-memory AWS account: it starts moto, installs the patches of
:mod:`circuit_breaker.local.patches` (the part shared with the bare :class:`MotoEngine`), deploys a
synthesized stack onto it and hands out boto3 sessions that reach it. :meth:`MotoEngine.serve` also
exposes it on 127.0.0.1, so other processes (``breaker --local``, the AWS CLI with ``--endpoint-url``)
can use it.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import boto3
from moto import mock_aws

from circuit_breaker.aws.connection import Connection
from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.local import patches
from circuit_breaker.local.deployer import LocalDeployer, StackArtifact, load_stack, synthesize
from circuit_breaker.local.faults import FaultInjector
from circuit_breaker.local.lambda_runtime import LambdaRuntime
from circuit_breaker.local.server import EngineServer
from circuit_breaker.local.stack_breaker import breaker_state_machine
from circuit_breaker.local.throughput import ItemLimits, ItemThroughput

#: moto's default account; every local resource lives there.
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
#: Credentials the engine accepts (moto accepts any).
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

_engine_lock = threading.Lock()
#: Net allocations before a young garbage collection while an engine runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """``gc.callbacks`` hook: after an older-generation collection, freeze what survived (``MotoEngine.tune_collector``)."""
    if phase == "stop" and info.get("generation", 0) >= 1:
        gc.freeze()


class EngineError(RuntimeError):
    """The local engine could not start, or was used in a way it does not support."""


@dataclass(frozen=True)
class EngineConfig:
    """How to build a local engine."""

    stack_name: str | None = None
    """The stack of the assembly to deploy; ``None``: the assembly's only stack."""
    region: str = LOCAL_REGION
    wait_scale: float = 1.0
    """Factor on every wait of an execution (Retry backoff, Wait states): 1 waits as on AWS, 0 not at all (tests)."""
    item_limits: ItemLimits | None = None
    """Enforce DynamoDB's per-item throughput (``ItemLimits()``: 3,000 read and 1,000 write units per second per item,
    refused as DynamoDB refuses them); ``None`` serves any rate. Tests switch it with ``engine.throughput.enforce``."""


class MotoEngine:
    """An in-process AWS account (moto) with the engine's patches installed, and nothing deployed.

    What every local engine shares: moto started with Step Functions execution, the patches of
    :mod:`circuit_breaker.local.patches`, credentials that keep clients in the process, and the
    engine's Lambda runtime, clock, fault injector and per-item throughput (:mod:`circuit_breaker.local.throughput`).
    :class:`LocalEngine` adds a deployed stack; the parity harness (:mod:`tools.parity`) uses this bare one.

    Only one engine runs per process (moto's backends are process-wide); use it as a context manager.
    """

    _running: "MotoEngine | None" = None

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.clock = patches.EngineClock(scale=self.config.wait_scale)
        self.runtime = LambdaRuntime()
        self.faults = FaultInjector()
        self.throughput = ItemThroughput(self.config.item_limits)
        self._mock: Any = None
        self._server: Any = None
        self._saved_environ: dict[str, str | None] = {}
        self._saved_gc_threshold: tuple[int, ...] | None = None

    @property
    def account(self) -> str:
        return LOCAL_ACCOUNT

    def session(self) -> boto3.session.Session:
        """A boto3 session whose clients reach this engine."""
        return boto3.session.Session(region_name=self.config.region, **LOCAL_CREDENTIALS)

    def start(self) -> "MotoEngine":
        """Start moto and patch it."""
        with _engine_lock:
            if MotoEngine._running is not None:
                raise EngineError("a local engine is already running in this process; stop it first")
            MotoEngine._running = self
        try:
            # Clients must not leave the process: pin credentials and drop any endpoint override.
            for key, value in {
                "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
                "AWS_DEFAULT_REGION": self.config.region,
                "AWS_ENDPOINT_URL": None,
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
            }.items():
                self._saved_environ[key] = os.environ.get(key)
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            # moto logs every failed state as an error; here a failed state is often the expected outcome.
            logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
            patches.apply(self.runtime, self.clock, self.faults, self.throughput)
            self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
            self._mock.start()
            self._after_start()
            self.tune_collector()
        except BaseException:
            self.stop()
            raise
        return self

    def _after_start(self) -> None:
        """What a subclass adds once moto runs (deploying a stack, say)."""

    def tune_collector(self) -> None:
        """Fit Python's cyclic garbage collector to the engine's work: no pauses of a second in which nothing runs.

        Each execution allocates about 10,000 objects (its copy of the program, its events, its clients'
        requests) that reference counting frees when it ends, and keeps about 120 (its history and logs,
        which moto keeps for good). With the default threshold (700 net allocations) the collector runs
        dozens of times per execution, moves what executions in flight hold into the old generation, and
        so runs a full collection every couple of seconds under load, each scanning everything the
        process keeps: moto, botocore's models, the deployed stack and every finished execution. After a
        few thousand executions each took 0.5 to 2 s, with every execution stopped (``docs/performance.md``,
        *The stalls in the outage run*). So: what the engine built at start is frozen (never scanned again;
        it lives as long as the engine), a young collection waits for 50,000 net allocations, and what
        survives a collection of the older generations is frozen too, so no collection scans the finished
        executions again. The price: an object frozen while alive, in a reference cycle, that dies later is
        never reclaimed (a few hundred objects per execution in flight at such a collection; reference
        counting still frees everything else). :meth:`restore_collector` (which :meth:`stop` calls) undoes it.
        """
        if self._saved_gc_threshold is not None:
            return
        self._saved_gc_threshold = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *self._saved_gc_threshold[1:])
        gc.callbacks.append(_freeze_survivors)

    def restore_collector(self) -> None:
        """Python's collector as it was before :meth:`tune_collector`: nothing frozen, the thresholds it had."""
        if self._saved_gc_threshold is None:
            return
        if _freeze_survivors in gc.callbacks:
            gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
        gc.set_threshold(*self._saved_gc_threshold)
        self._saved_gc_threshold = None

    def serve(self, host: str = "127.0.0.1", port: int = 4566) -> str:
        """Also answer AWS API calls over HTTP on ``host:port``; returns the endpoint URL.

        Clients of the endpoint must not inject host prefixes (``StartSyncExecution`` goes to ``sync-HOST``):
        boto3 with :func:`circuit_breaker.aws.connection.local_client_config`, the aws CLI with
        ``AWS_DISABLE_HOST_PREFIX_INJECTION=true``.
        """
        if self._mock is None:
            raise EngineError("start the engine before serving it")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = EngineServer(host, port)
        return self._server.start()

    def stop(self) -> None:
        """Stop serving, stop moto and restore the environment."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()
        self.runtime.close()
        self._after_stop()
        self.restore_collector()
        with _engine_lock:
            if MotoEngine._running is self:
                MotoEngine._running = None

    def _after_stop(self) -> None:
        """What a subclass cleans up once moto stopped."""

    def __enter__(self) -> "MotoEngine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalEngine(MotoEngine):
    """An in-process AWS (moto) with a synthesized stack deployed on it: the sample's, or any that holds a breaker."""

    def __init__(self, assembly_dir: Path, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self.assembly_dir = Path(assembly_dir)
        self.outputs: dict[str, str] = {}
        self.stack: StackArtifact | None = None
        self._function_names: dict[str, str] = {}
        self._deployments: dict[str | None, Deployment] = {}
        self._temporary_assembly = False

    @classmethod
    def from_project(
        cls, project_dir: Path, config: EngineConfig | None = None, context: Mapping[str, Any] | None = None
    ) -> "LocalEngine":
        """Synthesize the project's CDK app (with extra ``context``) and build an engine for it.

        The assembly goes to a temporary directory, which :meth:`stop` removes.
        """
        out_dir = Path(tempfile.mkdtemp(prefix="breaker-cdk-out-"))
        try:
            engine = cls(synthesize(Path(project_dir), out_dir, context), config)
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        engine._temporary_assembly = True
        return engine

    def connection(self) -> Connection:
        """A connection for the client and CLI code: this engine, in this process."""
        return Connection(self.session(), endpoint_url=None, local=True)

    @property
    def stack_name(self) -> str:
        """The name of the deployed stack."""
        if self.stack is None:
            raise EngineError("the engine has deployed nothing yet: start it first")
        return self.stack.name

    def deployment(self, path: str | None = None) -> Deployment:
        """The deployed circuit breaker's resources (``path``: which construct, when the stack holds several).

        Read from the state machine the construct tagged, as the CLI and client read it on AWS.
        """
        if path not in self._deployments:
            arn = breaker_state_machine(self.stack_name, self.stack.template, self._physical_ids(), path)  # type: ignore[union-attr]
            self._deployments[path] = Deployment.from_state_machine(self.connection(), arn, self.stack_name)
        return self._deployments[path]

    def _physical_ids(self) -> dict[str, str]:
        cloudformation = self.session().client("cloudformation")
        resources = cloudformation.list_stack_resources(StackName=self.stack_name)["StackResourceSummaries"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

    def function_name(self, logical_id_prefix: str) -> str:
        """The physical name of the stack's Lambda function whose logical ID starts with ``logical_id_prefix``."""
        if logical_id_prefix in self._function_names:
            return self._function_names[logical_id_prefix]
        cloudformation = self.session().client("cloudformation")
        for resource in cloudformation.list_stack_resources(StackName=self.stack_name)["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::Lambda::Function" and resource["LogicalResourceId"].startswith(logical_id_prefix):
                self._function_names[logical_id_prefix] = resource["PhysicalResourceId"]
                return resource["PhysicalResourceId"]
        raise EngineError(f"no Lambda function with a logical ID starting {logical_id_prefix!r} in {self.stack_name}")

    def start(self) -> "LocalEngine":
        """Start moto, patch it and deploy the stack."""
        self._stack_to_deploy = load_stack(self.assembly_dir, self.config.stack_name)
        super().start()
        return self

    def _after_start(self) -> None:
        deployer = LocalDeployer(
            self.session(),
            LOCAL_ACCOUNT,
            self.config.region,
            lambda name, value: patches.put_public_parameter(LOCAL_ACCOUNT, self.config.region, name, value),
        )
        self.outputs = deployer.deploy(self._stack_to_deploy)
        self.stack = self._stack_to_deploy

    def _after_stop(self) -> None:
        if self._temporary_assembly:
            shutil.rmtree(self.assembly_dir, ignore_errors=True)
