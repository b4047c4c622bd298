"""Circuit reads, cached per callee for a few seconds, and decoded afresh on every answer.

A check of a callee whose read is older than the TTL reads its item again: one strongly consistent
``GetItem`` of that callee only (AWS's sample scans the whole table, unpaginated). Concurrent checks
of the same callee wait for one read. The item is kept as read and decoded by
:func:`circuit_breaker.core.record.decode` at the moment of each answer, so an expiry, the end of a break
or of a lease that passes while it is cached is seen as the workflow would see it. A read that fails
is cached too (as a failure), so an unreadable table costs one attempt per TTL, not one per check.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from circuit_breaker.core.extension_api import CalleeEntry, CircuitAnswer
from circuit_breaker.lambdas.circuit_extension.config import ExtensionConfig
from circuit_breaker.core.record import decode, get_item_request


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

    def get(self, callee: str) -> dict[str, Any] | None:
        """The callee's item (DynamoDB's typed JSON), or ``None``; raises :class:`StoreReadError`."""
        if not self._ready.is_set():
            self.prewarm()
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client.get_item(**get_item_request(self.table_name, callee)).get("Item")
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


class CircuitCache:
    """Answers for the registered callees, each from a read at most ``cache_seconds`` old."""

    def __init__(
        self,
        config: ExtensionConfig,
        read: Callable[[str], dict[str, Any] | None],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._read = read
        self._clock = clock
        self._wall_clock = wall_clock
        self._readings: dict[str, _Reading] = {}
        self._locks = {name: threading.Lock() for name in config.callees}
        self.reads = 0
        self.failed_reads = 0

    def knows(self, callee: str) -> bool:
        return callee in self.config.callees

    def _fresh(self, reading: _Reading | None) -> bool:
        return reading is not None and self._clock() - reading.fetched < self.config.cache_seconds

    def _reading(self, callee: str) -> _Reading:
        reading = self._readings.get(callee)
        if self._fresh(reading):
            return reading  # type: ignore[return-value]
        with self._locks[callee]:
            reading = self._readings.get(callee)
            if self._fresh(reading):
                return reading  # type: ignore[return-value]
            fetched, read_at = self._clock(), self._wall_clock()
            self.reads += 1
            try:
                reading = _Reading(fetched, read_at, item=self._read(callee))
            except StoreReadError as error:
                self.failed_reads += 1
                reading = _Reading(fetched, read_at, error=str(error))
            self._readings[callee] = reading
            return reading

    def answer(self, callee: str) -> CircuitAnswer:
        """The callee's circuit now (``callee`` must be registered: see :meth:`knows`)."""
        entry: CalleeEntry = self.config.callees[callee]
        reading = self._reading(callee)
        now = self._wall_clock()
        age = max(0.0, now - reading.read_at)
        if reading.error is not None:
            return CircuitAnswer.from_store_error(callee, entry, reading.error, age)
        return CircuitAnswer.from_record(decode(callee, reading.item, now, entry.limits), entry, age)
