"""Circuit reads, cached per callee for a few seconds, and decoded afresh on every answer.

A check of a callee whose read is older than the TTL reads its item again: one strongly consistent
``GetItem`` of that callee only (AWS's sample scans the whole table, unpaginated). Concurrent checks
of the same callee wait for one read. The item is kept as read and decoded by
:func:`circuit_breaker.core.record.decode` at the moment of each answer, so an expiry, the end of a break
or of a lease that passes while it is cached is seen as the workflow would see it. A read that fails
is cached too (as a failure), so an unreadable table costs one attempt per TTL, not one per check.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from circuit_breaker.core.extension_api import CalleeEntry, CircuitAnswer
from circuit_breaker.lambdas.circuit_extension.config import ExtensionConfig
from circuit_breaker.core.record import circuit_name, decode, get_item_request, shard_names


class StoreReadError(Exception):
    """The table could not be read; the message says why (throttled, unreachable, denied...)."""


class TableReader:
    """``GetItem`` of one circuit, through a DynamoDB client made once (in the background, after start-up)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self._client: Any = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def prewarm(self) -> None:
        """Import botocore and build the client (about 100 ms of CPU): done after the extension said it is ready."""
        with self._lock:
            if self._client is None:
                import botocore.session
                from botocore.config import Config

                session = botocore.session.get_session()
                # Short timeouts and one retry: a check must not hang on an unreachable table, it fails open.
                self._client = session.create_client(
                    "dynamodb", config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
                )
        self._ready.set()

    def get(self, name: str) -> dict[str, Any] | None:
        """The item named ``name`` (DynamoDB's typed JSON), or ``None``; raises :class:`StoreReadError`."""
        if not self._ready.is_set():
            self.prewarm()
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client.get_item(**get_item_request(self.table_name, name)).get("Item")
        except ClientError as error:
            details = error.response.get("Error", {})
            raise StoreReadError(f"{details.get('Code', 'Error')}: {details.get('Message', '')}") from None
        except BotoCoreError as error:
            raise StoreReadError(f"{type(error).__name__}: {error}") from None


@dataclass(frozen=True)
class _Reading:
    fetched: float
    """When (monotonic) it was read: its age decides when to read again."""
    read_at: float
    item: dict[str, Any] | None = None
    error: str | None = None


#: Circuits (a callee's, or one of its keys') kept in the cache at most; the least recently asked go first.
MAX_CACHED_CIRCUITS = 1024


class CircuitCache:
    """Answers for the registered callees (and their keys' circuits), each from a read at most ``cache_seconds`` old.

    A circuit with read shards is read on one of its items chosen at random per read, as the workflow reads it.
    """

    def __init__(
        self,
        config: ExtensionConfig,
        read: Callable[[str], dict[str, Any] | None],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        choose: Callable[[int], int] = lambda shards: random.randrange(shards),
    ) -> None:
        self.config = config
        self._read = read
        self._clock = clock
        self._wall_clock = wall_clock
        self._choose = choose
        self._readings: OrderedDict[str, _Reading] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self.reads = 0
        self.failed_reads = 0

    def knows(self, callee: str) -> bool:
        return callee in self.config.callees

    def keyed(self, callee: str) -> bool:
        """Whether checks of ``callee`` may name a key."""
        return self.knows(callee) and self.config.callees[callee].circuit_keys

    def _fresh(self, reading: _Reading | None) -> bool:
        return reading is not None and self._clock() - reading.fetched < self.config.cache_seconds

    def _lock(self, circuit: str) -> threading.Lock:
        with self._locks_lock:
            lock = self._locks.get(circuit)
            if lock is None:
                if len(self._locks) >= MAX_CACHED_CIRCUITS:
                    self._locks.pop(next(iter(self._locks)))
                lock = self._locks[circuit] = threading.Lock()
            return lock

    def _reading(self, callee: str, circuit: str) -> _Reading:
        reading = self._readings.get(circuit)
        if self._fresh(reading):
            return reading  # type: ignore[return-value]
        with self._lock(circuit):
            reading = self._readings.get(circuit)
            if self._fresh(reading):
                return reading  # type: ignore[return-value]
            fetched, read_at = self._clock(), self._wall_clock()
            self.reads += 1
            shard = shard_names(circuit, self.config.callees[callee].read_shards)[self._choose(self.config.callees[callee].read_shards)]
            try:
                reading = _Reading(fetched, read_at, item=self._read(shard))
            except StoreReadError as error:
                self.failed_reads += 1
                reading = _Reading(fetched, read_at, error=str(error))
            with self._locks_lock:
                self._readings[circuit] = reading
                self._readings.move_to_end(circuit)
                while len(self._readings) > MAX_CACHED_CIRCUITS:
                    self._readings.popitem(last=False)
            return reading

    def answer(self, callee: str, key: str | None = None) -> CircuitAnswer:
        """The circuit now of ``callee`` (or of its ``key``): ``callee`` must be registered (see :meth:`knows`), and
        ``key`` valid for a keyed callee (see :meth:`keyed`)."""
        entry: CalleeEntry = self.config.callees[callee]
        reading = self._reading(callee, circuit_name(callee, key))
        now = self._wall_clock()
        age = max(0.0, now - reading.read_at)
        if reading.error is not None:
            return CircuitAnswer.from_store_error(callee, entry, reading.error, age, key)
        return CircuitAnswer.from_record(decode(callee, reading.item, now, entry.limits, key), entry, age)
