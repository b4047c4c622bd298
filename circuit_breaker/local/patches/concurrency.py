"""Concurrent executions on threads: shared thread-safe clients, lock-free backend lookups, serialised DynamoDB."""

from __future__ import annotations

import threading
from typing import Any, Callable

import boto3
from botocore.client import BaseClient
from botocore.config import Config

_client_lock = threading.Lock()
_client_session = boto3.session.Session()
_clients: dict[tuple[str, str, str | None], BaseClient] = {}
#: One lock for every DynamoDB request: the backend checks conditions and writes without one.
_dynamodb_lock = threading.RLock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    """Replaces ``boto_client_for``: a shared client per service and region, created under a lock.

    moto builds a client per task from boto3's default session, which is not thread-safe (and slow:
    each client loads its service model). Clients themselves are thread-safe, so one per service
    serves every execution.
    """
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    endpoint = None if botocore_stubber.enabled else f"http://localhost:{moto_server_port()}"
    key = (service, region, endpoint)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _client_session.client(
                service_name=service,
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=64,
                ),
            )
    return client


def fast_backend_lookup(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``BackendDict._create_account_specific_backend``: no global lock once an account's backend exists."""

    def _create_account_specific_backend(self: Any, account_id: str) -> None:
        # dict.__contains__ needs no lock; the slow path runs once per account (and again after a reset).
        if dict.__contains__(self, account_id) and self.__dict__.get("_breaker_registered"):
            return
        original(self, account_id)
        self.__dict__["_breaker_registered"] = True

    return _create_account_specific_backend


def serialised_dynamodb(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``DynamoHandler.call_action``: one DynamoDB request at a time, so a condition and its write are atomic."""

    def call_action(self: Any) -> Any:
        with _dynamodb_lock:
            return original(self)

    return call_action


def forgets_finished_threads(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``Program.eval``: once a program has run, finished threads leave moto's ``TMP_THREADS``.

    moto appends every thread it starts (each execution's program, each task state with a timeout) to
    the module list ``TMP_THREADS`` and never removes one, so a long-running engine keeps every finished
    thread with its locks and conditions, and the cyclic collector scans them all on each full collection.
    Removal is one ``list.remove`` at a time: a thread appended meanwhile is never lost.
    """
    from moto.stepfunctions.parser.utils import TMP_THREADS

    def eval(self: Any, env: Any) -> None:  # noqa: A001 - moto's name
        try:
            original(self, env)
        finally:
            for thread in [t for t in TMP_THREADS if not t.is_alive()]:
                try:
                    TMP_THREADS.remove(thread)
                except ValueError:  # another execution removed it first
                    pass

    return eval
