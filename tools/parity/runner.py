"""Replay one recording on the engine: set up as the test did, run, collect what AWS's API answered.

The answers are collected under the recording's own keys (``get_execution_history``,
``start_execution_sync_response``, ``logged_execution_events``...), so :mod:`.compare` can put them
side by side after :mod:`.normalise` has made them look as LocalStack recorded AWS's.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from tools.parity import json5, resources
from tools.parity.compare import PLACEHOLDER
from tools.parity.normalise import RECORDED_ACCOUNT, Names
from tools.parity.recipes import FROM_RECORDING, Recipe
from tools.parity.recordings import ParityData, Recording

#: How long an execution may take on the engine (its waits are not slept).
EXECUTION_DEADLINE_SECONDS = 30.0
_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
#: How long an execution must stay in a Wait state before the harness takes it for waiting (``read_while_waiting``).
WAITING_GRACE_SECONDS = 0.3


class ReplayError(RuntimeError):
    """The recording could not be replayed (its template or input could not be prepared)."""


@dataclass
class Replay:
    """What the engine answered, and the names needed to normalise it."""

    answer: dict[str, Any]
    names: Names


def _set_path(document: Any, path: str, value: Any) -> None:
    """Set ``value`` at a dotted ``path`` (a number selects a list item: ``States.S.Catch.0.ErrorEquals``)."""
    *parents, last = path.split(".")
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, list):
        document[int(last)] = value
    else:
        document[last] = value


def _fill(value: Any, res: resources.Resources) -> Any:
    """``value`` with recipe tokens replaced (inside every string)."""
    return json.loads(res.fill(json.dumps(value)))


def definition_of(recipe: Recipe, data: ParityData, res: resources.Resources) -> str:
    """The definition the test created its state machine with."""
    if recipe.template is not None:
        path = data.templates / recipe.template
        try:
            template = json5.loads(path.read_text())
        except OSError as error:
            raise ReplayError(f"template {recipe.template} is not readable: {error}") from None
        except json5.Json5Error as error:
            raise ReplayError(f"template {recipe.template}: {error}") from None
    elif recipe.definition is not None:
        template = copy.deepcopy(recipe.definition)
    else:
        raise ReplayError("the recipe names no template and no definition")
    for path, value in recipe.set.items():
        try:
            _set_path(template, path, _fill(value, res))
        except (KeyError, TypeError, IndexError, ValueError) as error:
            raise ReplayError(f"template {recipe.template} has no {path} to set ({error})") from None
    text = json.dumps(template)
    for old, new in recipe.replace.items():
        text = text.replace(old, res.fill(new))
    return res.fill(text)


def _recorded_input(recording: Recording, key: str | None = None) -> Any:
    content = recording.content
    for key in (key,) if key else ("get_execution_history", "exec_hist_resp_0"):
        events = (content.get(key) or {}).get("events") or []
        if events and "executionStartedEventDetails" in events[0]:
            return events[0]["executionStartedEventDetails"].get("input")
    sync = content.get("start_execution_sync_response")
    if isinstance(sync, dict) and "input" in sync:
        return sync["input"]
    raise ReplayError("the recording holds no execution input and the recipe gives none")


def recorded_items(recording: Recording) -> list[Any]:
    """The items of the execution output AWS recorded (a Map's results; batches ``{"Items": [...]}`` flattened)."""
    events = (recording.content.get("get_execution_history") or {}).get("events") or []
    succeeded = [e["executionSucceededEventDetails"] for e in events if "executionSucceededEventDetails" in e]
    if not succeeded:
        raise ReplayError("the recording holds no execution output to take the bucket's items from")
    output = succeeded[-1].get("output")
    items = json.loads(output) if isinstance(output, str) else output
    if not isinstance(items, list):
        raise ReplayError("the recorded execution output is not a list of items")
    flat: list[Any] = []
    for item in items:
        batch = item.get("Items") if isinstance(item, dict) and set(item) == {"Items"} else None
        flat.extend(batch if isinstance(batch, list) else [item])
    return flat


def input_of(
    recipe: Recipe, recording: Recording, res: resources.Resources, account: str, region: str, key: str | None = None
) -> str:
    """The execution input: the recipe's, or the recorded one with placeholders turned back into names."""
    if recipe.input is not FROM_RECORDING and key is None:
        value = recipe.input
        return res.fill(value if isinstance(value, str) else json.dumps(value))
    recorded = _recorded_input(recording, key)
    text = recorded if isinstance(recorded, str) else json.dumps(recorded)
    for name, placeholder in res.placeholders.items():
        text = text.replace(placeholder, name)
    text = text.replace("<partition>", "aws").replace("<region>", region).replace(RECORDED_ACCOUNT, account)
    leftover = PLACEHOLDER.search(text)
    if leftover:
        raise ReplayError(f"the recorded input holds placeholder {leftover.group(0)}, which the recipe does not resolve")
    return text


class Runner:
    """Replays recordings on one engine, one after another."""

    def __init__(self, engine: Any, data: ParityData) -> None:
        self.engine = engine
        self.data = data
        self.session = engine.session()
        self.sfn = self.session.client("stepfunctions")
        # As LocalStack's tests did against a local endpoint: no "sync-" host prefix.
        self.sfn_sync = self.session.client("stepfunctions", config=Config(inject_host_prefix=False))
        self.logs = self.session.client("logs")
        self.region = engine.config.region
        self.account = engine.account

    # -- helpers -------------------------------------------------------------------------------

    def _names(self, recipe: Recipe, res: resources.Resources, extra: dict[str, str]) -> Names:
        replacements = {res.role_arn: recipe.role_placeholder, **res.placeholders, **recipe.replacements, **extra}
        return Names(account=self.account, region=self.region, replacements=replacements, fixed_keys=recipe.fixed_keys)

    def _wait(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] in _TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise ReplayError(f"the execution did not finish within {EXECUTION_DEADLINE_SECONDS:.0f} s on the engine")
            time.sleep(0.005)

    def _create(self, recipe: Recipe, definition: str, res: resources.Resources, **extra: Any) -> dict[str, Any]:
        return self.sfn.create_state_machine(
            name=f"{res.prefix}-sm", definition=definition, roleArn=res.role_arn, type=recipe.sm_type, **extra
        )

    def _logging(self, level: str, include: bool, log_group_arn: str) -> dict[str, Any]:
        return {
            "level": level,
            "includeExecutionData": include,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group_arn}}],
        }

    def _log_records(self, group: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        streams = self.logs.describe_log_streams(logGroupName=group, orderBy="LogStreamName")["logStreams"]
        for stream in sorted(streams, key=lambda s: s.get("creationTime", 0)):
            events = self.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)["events"]
            records.extend(json.loads(event["message"]) for event in events)
        return records

    # -- kinds -----------------------------------------------------------------------------------

    def replay(self, recording: Recording, recipe: Recipe) -> Replay:
        """Run ``recording``'s test on the engine as ``recipe`` describes."""
        self.engine.clock.scale = recipe.wait_scale
        res = resources.create(self.session, recipe)
        if recipe.bucket_objects:
            resources.put_objects(self.session, res, recipe, recorded_items(recording))
        definition = definition_of(recipe, self.data, res)
        method = getattr(self, f"_run_{recipe.kind}", None)
        if method is None:
            raise ReplayError(f"unknown recipe kind {recipe.kind!r}")
        answer, extra = method(recording, recipe, res, definition)
        answer.update({key: value for key, value in res.created.items() if key in recording.content})
        extra.setdefault(f"{res.prefix}-sm", "<ArnPart_0idx>")
        return Replay(answer=answer, names=self._names(recipe, res, extra))

    def _start(self, arn: str, text: str) -> dict[str, Any]:
        return self.sfn.start_execution(stateMachineArn=arn, input=text)

    def _waiting(self, execution_arn: str) -> dict[str, Any]:
        """The execution once it ended, or once it has waited in a Wait state for a moment (then stopped)."""
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        waiting_since: float | None = None
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] in _TERMINAL:
                return described
            events = self.sfn.get_execution_history(executionArn=execution_arn)["events"]
            if events and events[-1]["type"] == "WaitStateEntered":
                waiting_since = waiting_since or time.monotonic()
                if time.monotonic() - waiting_since > WAITING_GRACE_SECONDS:
                    return described
            if time.monotonic() > deadline:
                raise ReplayError(f"the execution neither ended nor waited within {EXECUTION_DEADLINE_SECONDS:.0f} s")
            time.sleep(0.01)

    def _run_history(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        arn = self._create(recipe, definition, res)["stateMachineArn"]
        started = self._start(arn, input_of(recipe, recording, res, self.account, self.region))
        if recipe.read_while_waiting:
            described = self._waiting(started["executionArn"])
            if described["status"] not in _TERMINAL:
                answer = {"get_execution_history": self.sfn.get_execution_history(executionArn=started["executionArn"])}
                self.sfn.stop_execution(executionArn=started["executionArn"])
                return answer, {started["executionArn"].rsplit(":", 1)[-1]: "<ExecArnPart_0idx>"}
        else:
            described = self._wait(started["executionArn"])
        answer: dict[str, Any] = {}
        if "get_execution_history" in recording.content or "describe_execution" not in recording.content:
            answer["get_execution_history"] = self.sfn.get_execution_history(executionArn=started["executionArn"])
        if "describe_execution" in recording.content:
            answer["describe_execution"] = described
        return answer, {started["executionArn"].rsplit(":", 1)[-1]: "<ExecArnPart_0idx>"}

    def _run_multi(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        arn = self._create(recipe, definition, res)["stateMachineArn"]
        answer: dict[str, Any] = {}
        extra: dict[str, str] = {}
        count = len([key for key in recording.content if key.startswith("exec_hist_resp_")])
        for index in range(count):
            text = input_of(recipe, recording, res, self.account, self.region, key=f"exec_hist_resp_{index}")
            started = self._start(arn, text)
            self._wait(started["executionArn"])
            answer[f"exec_hist_resp_{index}"] = self.sfn.get_execution_history(executionArn=started["executionArn"])
            extra[started["executionArn"].rsplit(":", 1)[-1]] = f"<ExecArnPart_{index}idx>"
        return answer, extra

    def _run_logs(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        log_group_arn = resources.create_log_group(self.session, res)
        logging = self._logging(recipe.log_level or "ALL", recipe.include_execution_data, log_group_arn)
        arn = self._create(recipe, definition, res, loggingConfiguration=logging)["stateMachineArn"]
        if recipe.delete_log_group:
            self.logs.delete_log_group(logGroupName=res.log_group)
        answer: dict[str, Any] = {}
        extra: dict[str, str] = {}
        runs = recipe.inputs or (None,)
        for index, value in enumerate(runs):
            text = input_of(recipe, recording, res, self.account, self.region) if value is None else json.dumps(value)
            started = self._start(arn, text)
            self._wait(started["executionArn"])
            extra[started["executionArn"].rsplit(":", 1)[-1]] = f"<ExecArnPart_{index}idx>"
            if "get_execution_history" in recording.content:
                answer["get_execution_history"] = self.sfn.get_execution_history(executionArn=started["executionArn"])
        if "logged_execution_events" in recording.content:
            records = self._log_records(res.log_group)
            if recipe.inputs:
                answer["logged_execution_events"] = records
            else:
                answer["logged_execution_events"] = sorted(records, key=lambda r: int(r.get("id", 0)))
        return answer, extra

    def _run_sync(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        created = self._create(recipe, definition, res)
        answer: dict[str, Any] = {"creation_response": created}
        text = input_of(recipe, recording, res, self.account, self.region)
        answer["start_execution_sync_response"] = self.sfn_sync.start_sync_execution(stateMachineArn=created["stateMachineArn"], input=text)
        return answer, {}

    def _run_async(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        log_group_arn = resources.create_log_group(self.session, res)
        logging = self._logging("ALL", recipe.include_execution_data, log_group_arn)
        created = self._create(recipe, definition, res, loggingConfiguration=logging)
        answer: dict[str, Any] = {"creation_response": created}
        text = input_of(recipe, recording, res, self.account, self.region)
        started = self._start(created["stateMachineArn"], text)
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            records = self._log_records(res.log_group)
            if records and records[-1].get("type") in {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}:
                break
            if time.monotonic() > deadline:
                raise ReplayError("the execution logged no end event on the engine")
            time.sleep(0.005)
        answer["end_event"] = records[-1]
        for key in ("list_executions_error", "describe_execution_error", "stop_execution_error", "get_execution_history_error"):
            if key in recording.content:
                answer[key] = self._error_of(key, created["stateMachineArn"], started["executionArn"])
        return answer, {}

    def _error_of(self, key: str, state_machine_arn: str, execution_arn: str) -> Any:
        calls = {
            "list_executions_error": lambda: self.sfn.list_executions(stateMachineArn=state_machine_arn),
            "describe_execution_error": lambda: self.sfn.describe_execution(executionArn=execution_arn),
            "stop_execution_error": lambda: self.sfn.stop_execution(executionArn=execution_arn),
            "get_execution_history_error": lambda: self.sfn.get_execution_history(executionArn=execution_arn),
        }
        try:
            return {"answered": calls[key]()}
        except ClientError as error:
            return error.response

    def _run_create_error(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        try:
            created = self._create(recipe, definition, res)
        except ClientError as error:
            if "exception" in recording.content:
                return {
                    "exception": {
                        "exception_typename": error.response["Error"]["Code"],
                        "exception_value": str(error),
                    }
                }, {}
            return {"creation_error": error.response}, {}
        return {"created": created}, {}

    def _run_api(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        created = self._create(recipe, definition, res)
        arn = created["stateMachineArn"]
        answer = {
            "creation_response": created,
            "describe_response": self.sfn.describe_state_machine(stateMachineArn=arn),
            "deletion_response": self.sfn.delete_state_machine(stateMachineArn=arn),
        }
        return answer, {}

    def _collect_events(self, queue_url: str, expected: int) -> list[Any]:
        """The queue's events, collected as the recorded test collected them.

        The test received messages until it held as many as the entries it put, without deleting any: a
        message it already held came back once its visibility timeout ran out, so an execution that got
        fewer events delivered than it put recorded one of them twice (``test_put_events_no_source``).
        Here the timeout is run out at once (visibility set to 0) when the queue has nothing new.
        """
        sqs = self.session.client("sqs")
        messages: list[Any] = []
        handles: list[str] = []
        deadline = time.monotonic() + 5
        while len(messages) < expected and time.monotonic() < deadline:
            received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            messages.extend(json.loads(m["Body"]) for m in received[: expected - len(messages)])
            handles.extend(m["ReceiptHandle"] for m in received)
            if received or len(messages) >= expected:
                continue
            time.sleep(0.05)
            if not sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0, VisibilityTimeout=0).get("Messages") and handles:
                for handle in handles:
                    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
                handles.clear()
        return messages

    def _run_events(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        detail_type = f"{res.prefix}-detail"
        res.tokens["detail_type"] = detail_type
        res.placeholders[detail_type] = "<detail-type>"
        queue_url = resources.route_events_to_queue(self.session, res, {"detail-type": [detail_type]})
        answer, extra = self._run_history(recording, recipe, res, definition)
        messages = self._collect_events(queue_url, len(recording.content.get("stepfunctions_events") or []))
        if "stepfunctions_events" in recording.content:
            answer["stepfunctions_events"] = sorted(messages, key=lambda e: json.dumps(e.get("detail", {})))
        return answer, extra

    def _run_status_events(self, recording: Recording, recipe: Recipe, res: resources.Resources, definition: str):
        """Step Functions' own status change events of one execution, as the test's queue received them.

        The test routed the default bus's ``aws.states`` events of its state machine to a queue, ran one
        execution, received until the last event was not RUNNING, and recorded the events sorted by time.
        """
        arn = self._create(recipe, definition, res)["stateMachineArn"]
        pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"], "detail": {"stateMachineArn": [arn]}}
        queue_url = resources.route_events_to_queue(self.session, res, pattern)
        started = self._start(arn, input_of(recipe, recording, res, self.account, self.region))
        self._wait(started["executionArn"])
        messages = self._collect_events(queue_url, len(recording.content.get("stepfunctions_events") or []))
        answer = {"stepfunctions_events": sorted(messages, key=lambda e: e.get("time", ""))}
        return answer, {started["executionArn"].rsplit(":", 1)[-1]: "<ExecArnPart_0idx>"}


def judge(runner: Runner, recording: Recording) -> "Verdict":
    """Replay one recording and compare: a match, a mismatch with its diff, or not-run with why."""
    from tools.parity.compare import compare
    from tools.parity.normalise import mirror_recording_transformers, normalise, without_later_fields
    from tools.parity.recipes import NoRecipeError, lookup
    from tools.parity.report import MATCH, MISMATCH, NOT_RUN, Verdict

    def verdict(kind: str, reason: str = "", diff: str = "") -> Verdict:
        return Verdict(recording.key, recording.area, recording.group, kind, reason, diff)

    if recording.problem:
        return verdict(NOT_RUN, f"malformed recording: {recording.problem}")
    try:
        recipe = lookup(recording.group, recording.test_id, recording.params)
    except NoRecipeError as error:
        return verdict(NOT_RUN, str(error))
    except Exception as error:  # noqa: BLE001 - a broken recipe must not end the run
        return verdict(NOT_RUN, f"the recipe failed: {type(error).__name__}: {error}")
    if recipe.not_run:
        return verdict(NOT_RUN, recipe.not_run)
    try:
        replay = runner.replay(recording, recipe)
    except ReplayError as error:
        return verdict(NOT_RUN, str(error))
    except ClientError as error:
        reason = f"the engine refused the setup: {error}"
        return verdict(NOT_RUN, reason if len(reason) <= 300 else reason[:297] + "...", reason)
    except Exception as error:  # noqa: BLE001 - one broken replay must not end the run
        return verdict(NOT_RUN, f"the harness failed: {type(error).__name__}: {error}")
    actual = mirror_recording_transformers(normalise(replay.answer, replay.names), recording.content)
    actual = without_later_fields(actual, recording.recorded_on)
    comparison = compare(recording.content, actual)
    if comparison.equal:
        return verdict(MATCH)
    first = comparison.differences[0]
    return verdict(MISMATCH, first if len(first) <= 300 else first[:297] + "...", comparison.diff())
