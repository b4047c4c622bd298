"""Re-submit failed asynchronous calls from the dead-letter queue once their circuit lets calls through.

An asynchronous call (an execution input with ``idempotencyKey``, :meth:`CircuitBreakerClient.call_async`)
that gets no answer is sent by the workflow itself to the breaker's dead-letter queue as
``{"callee", "idempotencyKey", "input", "error", "cause", "failedAt", "executionArn"}``. A redrive
receives those messages and, for each one:

- whose circuit is closed (read through :mod:`circuit_breaker.core.record`, as the workflow acts on it,
  once for each batch of up to 10 messages received, so a circuit that opens again stops the redrive):
  starts a new execution with the original input, unchanged (the key and the depth travel along, so
  the callee can drop a repeated key and a redriven loop still stops at the depth limit), and deletes
  the message only once that execution has started;
- whose circuit's break is over (the next call probes): re-submits that one message as the probe and
  waits for it (``StartSyncExecution``); the circuit's new state then decides for the next messages;
- whose circuit is open, half-open with a probe in flight, or isolated, or that cannot be read:
  leaves it in the queue.

Messages are held invisible while the redrive looks at them; every message it did not delete is made
visible again before it returns, whatever happened (a process that dies instead leaves them to come
back after ``visibility_timeout``). An interrupted redrive loses nothing: a message is deleted only
after its execution started, so at worst an execution started whose message was not deleted, and the
next redrive re-submits it with the same key, which the callee de-duplicates.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from circuit_breaker.operate.circuits import Circuits
from circuit_breaker.operate.errors import RedriveError, RedriveInterrupted
from circuit_breaker.client.calls import stepfunctions_client
from circuit_breaker.aws.connection import Connection
from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.core.call_input import input_problem
from circuit_breaker.core.record import CircuitRecord, CircuitState, circuit_name

#: How long a received message stays invisible while a redrive decides about it (SQS's default is 30 s;
#: a probe may wait for a whole execution). Messages not deleted are made visible again at the end.
VISIBILITY_TIMEOUT_SECONDS = 120
#: Long polling: how long one receive waits for messages before the redrive decides the queue is drained.
WAIT_SECONDS = 1


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-letter message as the workflow wrote it; ``problem`` says why it cannot be re-submitted."""

    message_id: str
    receipt_handle: str
    body: Any
    problem: str | None = None

    @classmethod
    def parse(cls, message: dict[str, Any]) -> "DeadLetter":
        """Read an SQS message; a body that is not the workflow's is kept, with its problem named."""
        message_id, handle = message["MessageId"], message["ReceiptHandle"]
        try:
            body = json.loads(message.get("Body") or "", parse_constant=_no_constant)  # NaN: Step Functions would refuse it
        except ValueError:
            return cls(message_id, handle, message.get("Body"), "its body is not JSON")
        if not isinstance(body, dict):
            return cls(message_id, handle, body, "its body is not a JSON object")
        document = body.get("input")
        if not isinstance(document, dict):
            return cls(message_id, handle, body, "it has no original input (an object under 'input')")
        if "idempotencyKey" not in document:
            return cls(message_id, handle, body, "its input has no idempotencyKey (re-submitted, it would not be dead-lettered again)")
        # The workflow refuses such an input (InvalidInput) and never dead-letters it again: re-submitted, it would be lost.
        problem = input_problem(document)
        if problem is not None:
            return cls(message_id, handle, body, f"the workflow would refuse its input: {problem}")
        return cls(message_id, handle, body)

    def _body(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    @property
    def input(self) -> dict[str, Any] | None:
        """The original execution input, re-submitted as it is."""
        document = self._body("input")
        return document if isinstance(document, dict) else None

    @property
    def callee(self) -> str | None:
        document = self.input
        callee = document.get("callee") if document else self._body("callee")
        return callee if isinstance(callee, str) else None

    @property
    def idempotency_key(self) -> str | None:
        document = self.input or {}
        key = document.get("idempotencyKey", self._body("idempotencyKey"))
        return key if isinstance(key, str) else None


class RedriveAction(str, Enum):
    """What a redrive did with one message."""

    RESUBMITTED = "resubmitted"
    """A new execution started with the original input; the message was deleted."""
    WOULD_RESUBMIT = "would resubmit"
    """``--dry-run``: it would have been re-submitted; nothing changed."""
    LEFT = "left"
    """Left in the queue (visible again); ``reason`` says why."""


@dataclass(frozen=True)
class Outcome:
    """One message and what the redrive did with it."""

    message_id: str
    callee: str | None
    idempotency_key: str | None
    action: RedriveAction
    reason: str | None = None
    """Why it was left, or how it was re-submitted (as the probe)."""
    execution_arn: str | None = None
    """The new execution (re-submitted messages)."""
    failed_execution_arn: str | None = None
    """The execution that dead-lettered it."""
    error: str | None = None
    """The error it was dead-lettered with."""
    failed_at: str | None = None
    probe_status: str | None = None
    """For the message re-submitted as the probe: how that execution ended (``SUCCEEDED``, ``FAILED``...)."""
    retry_after: int | None = None
    """For a message left because its circuit refuses calls: when it may let them through (epoch s; none until reset)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id, "callee": self.callee, "idempotencyKey": self.idempotency_key,
            "action": self.action.value, "reason": self.reason, "executionArn": self.execution_arn,
            "failedExecutionArn": self.failed_execution_arn, "error": self.error, "failedAt": self.failed_at,
            "probeStatus": self.probe_status, "retryAfter": self.retry_after,
        }  # fmt: skip


@dataclass
class RedriveReport:
    """What one redrive did, message by message; ``remaining`` is the queue's approximate depth afterwards."""

    queue_url: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    remaining: int | None = None

    @property
    def resubmitted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action in (RedriveAction.RESUBMITTED, RedriveAction.WOULD_RESUBMIT)]

    @property
    def left(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action is RedriveAction.LEFT]

    def as_dict(self) -> dict[str, Any]:
        return {
            "queueUrl": self.queue_url,
            "dryRun": self.dry_run,
            "resubmitted": len(self.resubmitted),
            "left": len(self.left),
            "remaining": self.remaining,
            "messages": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class _Held:
    """Messages received and not deleted: made visible again when the redrive ends."""

    handles: dict[str, str] = field(default_factory=dict)

    def hold(self, letter: DeadLetter) -> None:
        self.handles[letter.message_id] = letter.receipt_handle

    def release(self, letter: DeadLetter) -> None:
        self.handles.pop(letter.message_id, None)


class Redriver:
    """Re-submits the dead-letter messages of one breaker whose circuits let calls through."""

    def __init__(
        self,
        connection: Connection,
        deployment: Deployment,
        clock: Callable[[], float] = time.time,
        visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
        wait_seconds: int = WAIT_SECONDS,
    ) -> None:
        if not deployment.dead_letter_queue_url:
            raise RedriveError(
                f"{deployment.name} has no dead-letter queue (its definition names none): "
                "deploy this version of the construct, which creates one"
            )
        if not 1 <= visibility_timeout <= 43_200 or not 0 <= wait_seconds <= 20:
            raise RedriveError(f"visibility_timeout must be 1 to 43200 s and wait_seconds 0 to 20 s, got {visibility_timeout}, {wait_seconds}")
        self.deployment = deployment
        self.queue_url = deployment.dead_letter_queue_url
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self._circuits = Circuits(connection, deployment, clock)
        self._sqs = connection.client("sqs")
        self._sfn = stepfunctions_client(connection)

    def run(self, callee: str | None = None, max_messages: int | None = None, dry_run: bool = False) -> RedriveReport:
        """Re-submit up to ``max_messages`` calls (to ``callee`` only, if given) whose circuit lets calls through.

        Raises :class:`RedriveInterrupted` (with the report so far) when AWS fails halfway; every
        message not deleted is visible again either way.
        """
        if max_messages is not None and max_messages < 1:
            raise RedriveError(f"--max must be 1 or more, got {max_messages}")
        report = RedriveReport(self.queue_url, dry_run)
        held = _Held()
        seen: set[str] = set()
        keys: set[str] = set()
        try:
            while max_messages is None or len(report.resubmitted) < max_messages:
                batch = [DeadLetter.parse(m) for m in self._receive()]
                fresh = [letter for letter in batch if letter.message_id not in seen]
                for letter in batch:
                    held.hold(letter)  # the newest receipt handle is the one that can release it
                if not batch:
                    break  # drained (a message seen before and received again is hidden again, so this ends)
                circuits: dict[str, CircuitRecord] = {}  # read once per batch (and again after a probe)
                for letter in fresh:
                    seen.add(letter.message_id)
                    if max_messages is not None and len(report.resubmitted) >= max_messages:
                        break
                    self._redrive(letter, callee, keys, dry_run, held, report, circuits)
        except (ClientError, BotoCoreError) as error:
            self._release(held)
            report.remaining = self._depth()
            raise RedriveInterrupted(report, error) from error
        except BaseException:
            self._release(held)
            raise
        self._release(held)
        report.remaining = self._depth()
        return report

    # -- one message ---------------------------------------------------------------------------------------

    def _redrive(
        self,
        letter: DeadLetter,
        only: str | None,
        keys: set[str],
        dry_run: bool,
        held: _Held,
        report: RedriveReport,
        circuits: dict[str, CircuitRecord],
    ) -> None:
        """Decide about one message, act, and add its outcome to ``report`` (messages of other callees: nothing)."""
        if only is not None and letter.callee != only:
            return
        if letter.problem is not None:
            report.outcomes.append(self._outcome(letter, RedriveAction.LEFT, f"malformed message: {letter.problem}"))
            return
        key = letter.idempotency_key or ""
        callee = letter.callee or ""
        if key in keys:
            reason = "its key was re-submitted earlier in this redrive (that execution failed again)"
            report.outcomes.append(self._outcome(letter, RedriveAction.LEFT, reason))
            return
        if self.deployment.knows(callee) is False:
            report.outcomes.append(self._outcome(letter, RedriveAction.LEFT, f"{callee} is not registered with {self.deployment.name}"))
            return
        circuit_key = letter.input.get("key") if isinstance(letter.input, dict) else None  # a key's own circuit
        circuit = circuit_name(callee, circuit_key)
        record = circuits.get(circuit) or circuits.setdefault(circuit, self._circuits.read(callee, circuit_key))
        refusal = _refusal(record)
        if refusal is not None:
            report.outcomes.append(self._outcome(letter, RedriveAction.LEFT, refusal, retry_after=record.retry_after))
            return
        how = "as the probe (the break is over)" if record.probe_due else None
        if dry_run:
            report.outcomes.append(self._outcome(letter, RedriveAction.WOULD_RESUBMIT, how))
            return
        document = json.dumps(letter.input)
        status = None
        if record.probe_due:
            circuits.pop(circuit, None)  # the probe decides the circuit's next state: read it again
            finished = self._sfn.start_sync_execution(stateMachineArn=self.deployment.state_machine_arn, input=document)
            arn, status = finished["executionArn"], finished["status"]
        else:
            arn = self._sfn.start_execution(stateMachineArn=self.deployment.state_machine_arn, input=document)["executionArn"]
        keys.add(key)
        try:
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=letter.receipt_handle)
        except (ClientError, BotoCoreError):
            undeleted = "its message could not be deleted: a later redrive re-submits it with the same key"
            report.outcomes.append(self._outcome(letter, RedriveAction.RESUBMITTED, "; ".join(filter(None, [how, undeleted])), arn, status))
            raise
        held.release(letter)
        report.outcomes.append(self._outcome(letter, RedriveAction.RESUBMITTED, how, arn, status))

    @staticmethod
    def _outcome(
        letter: DeadLetter,
        action: RedriveAction,
        reason: str | None,
        arn: str | None = None,
        probe_status: str | None = None,
        retry_after: int | None = None,
    ) -> Outcome:
        body = letter.body if isinstance(letter.body, dict) else {}
        text = lambda name: body.get(name) if isinstance(body.get(name), str) else None  # noqa: E731
        return Outcome(
            message_id=letter.message_id, callee=letter.callee, idempotency_key=letter.idempotency_key,
            action=action, reason=reason, execution_arn=arn, failed_execution_arn=text("executionArn"),
            error=text("error"), failed_at=text("failedAt"), probe_status=probe_status, retry_after=retry_after,
        )  # fmt: skip

    # -- the queue -----------------------------------------------------------------------------------------

    def _receive(self) -> list[dict[str, Any]]:
        return self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=self.visibility_timeout,
            WaitTimeSeconds=self.wait_seconds,
        ).get("Messages", [])

    def _release(self, held: _Held) -> None:
        """Make every held message visible again (best effort: one SQS cannot release comes back after its timeout)."""
        entries = [{"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, handle in enumerate(held.handles.values())]
        for start in range(0, len(entries), 10):
            try:
                self._sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries[start : start + 10])
            except (ClientError, BotoCoreError):
                pass
        held.handles.clear()

    def _depth(self) -> int | None:
        """Messages in the queue, visible or not (approximate, as SQS counts them); ``None`` if it cannot be read."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        try:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)["Attributes"]
        except (ClientError, BotoCoreError):
            return None
        return sum(int(attributes.get(name, 0)) for name in names)


def _refusal(record: CircuitRecord) -> str | None:
    """Why a call to this circuit would fail fast now (then its messages wait), or ``None``; when is in ``retry_after``."""
    if not record.fails_fast():
        return None
    if record.state is CircuitState.ISOLATED:
        until = "until reset" if record.expires_at is None else "until its end"
        return f"circuit of {record.callee} is isolated {until}: {record.reason or '(no reason)'}"
    if record.state is CircuitState.HALF_OPEN:
        return f"circuit of {record.callee} is half-open: a probe is in flight"
    return f"circuit of {record.callee} is open"


__all__ = ["RedriveAction", "DeadLetter", "Outcome", "RedriveError", "RedriveInterrupted", "RedriveReport", "Redriver"]
