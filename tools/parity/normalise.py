"""The engine's answers, normalised the way LocalStack normalised AWS's before recording them.

LocalStack's snapshot library parsed every string holding a JSON object (one level: a JSON text
inside a parsed one stays text), replaced identifiers with placeholders (ARN parts, request IDs,
UUIDs under ``...Id`` keys, resource names chosen by the test), timestamps and dates with fixed
words, and response metadata with its status code. :func:`normalise` does the same to what the
local engine answered, with the names the harness chose (:class:`Names`), so the two can be
compared value by value. Identifiers the harness cannot know in advance (UUIDs, generated names)
stay as they are: the comparer matches them against the recording's placeholders.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

#: The account every recording shows (LocalStack's snapshot library replaces the real one by it).
RECORDED_ACCOUNT = "111111111111"

_REQUEST_ID = re.compile(r"Request ID: [a-zA-Z0-9-]+")
_EXTENDED_REQUEST_ID = re.compile(r"Extended Request ID: [a-zA-Z0-9-/=+]+")
_TIMESTAMP_KEY = re.compile(r"timestamp", re.IGNORECASE)
#: Keys whose values the recordings replace by a fixed word (the key's own name, or the given word).
_FIXED_VALUES = {
    "Date": "date",
    "X-Amzn-Trace-Id": "X-Amzn-Trace-Id",
    "x-amzn-requestid": "x-amzn-requestid",
    "x-amz-crc32": "x-amz-crc32",
    "creationTime": "timestamp",
    "ingestionTime": "timestamp",
}
#: ISO 8601 date-times inside text, candidates: the snapshot library replaced a *valid* one by "date"
#: (a real calendar date and clock time, years 1000-9999, offsets up to 19 hours), see :func:`_valid_date`.
_ISO8601 = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})T(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.\d{1,9})?"
    r"(?:Z|[+-](?P<oh>\d{2}):?(?P<om>\d{2})?)"
)


@dataclass(frozen=True)
class Names:
    """What the harness named things, and the placeholder each was recorded as."""

    account: str
    region: str
    replacements: Mapping[str, str] = field(default_factory=dict)
    """Literal text -> placeholder (function names, table names, the role ARN, the state machine's name...)."""
    fixed_keys: Mapping[str, str] = field(default_factory=dict)
    """Extra ``key -> word`` replacements a recording used (``StartTime`` -> ``start-time``, say)."""


def _valid_date(match: re.Match[str]) -> bool:
    """Whether an ISO 8601 candidate is a date the snapshot library recognised (so recorded it as "date").

    Its pattern accepts only real dates (no month 13, no 30 February) and clock times (no hour 25): the
    recordings of invalid timestamps (``test_wait_timestamp_jsonata[INVALID_DATE]``) kept them as values.
    """
    try:
        date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        return False
    offset_ok = match["oh"] is None or (int(match["oh"]) < 20 and (match["om"] is None or int(match["om"]) < 60))
    return int(match["y"]) >= 1000 and int(match["h"]) < 24 and int(match["mi"]) < 60 and int(match["s"]) < 60 and offset_ok


def _dates_replaced(text: str) -> str:
    return _ISO8601.sub(lambda match: "date" if _valid_date(match) else match.group(0), text)


def _is_date(text: str) -> bool:
    match = _ISO8601.fullmatch(text)
    return match is not None and _valid_date(match)


def _replace_text(text: str, names: Names) -> str:
    # Longest first, so an ARN is replaced before the function name inside it.
    for literal in sorted(names.replacements, key=len, reverse=True):
        if literal:
            text = text.replace(literal, names.replacements[literal])
    text = text.replace(f"arn:aws:", "arn:<partition>:")
    text = text.replace(names.account, RECORDED_ACCOUNT)
    text = text.replace(names.region, "<region>")
    text = _EXTENDED_REQUEST_ID.sub("Extended Request ID: <extended_request_id>", text)
    text = _dates_replaced(text)
    return _REQUEST_ID.sub("Request ID: <request_id>", text)


def _parse_object_text(value: Any) -> Any:
    """A string holding a JSON object becomes the object (as the snapshot library does); others stay."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _normalise_value(key: str | None, value: Any, names: Names, parse: bool) -> Any:
    if key is not None:
        if key in names.fixed_keys:
            return names.fixed_keys[key]
        if key in _FIXED_VALUES and not isinstance(value, dict):
            # Header values too (the SDK lists them): the snapshot library replaced the whole value.
            return _FIXED_VALUES[key]
        if _TIMESTAMP_KEY.search(key) and not isinstance(value, (dict, list)) and not _is_date(str(value)):
            return "timestamp"
        if key == "ResponseMetadata" and isinstance(value, dict):
            return {"HTTPHeaders": {}, "HTTPStatusCode": value.get("HTTPStatusCode")}
    if isinstance(value, (datetime, date)):
        return "datetime"
    if isinstance(value, str):
        if parse:
            parsed = _parse_object_text(value)
            if parsed is not value:
                # One level only: JSON text inside the parsed object stays text, as in the recordings.
                return _normalise_value(None, parsed, names, parse=False)
        return _replace_text(value, names)
    if isinstance(value, dict):
        return {k: _normalise_value(k, v, names, parse) for k, v in value.items()}
    if isinstance(value, list):
        # The snapshot library parses JSON text under keys only, never a string item of a list.
        return [_normalise_value(None, v, names, parse and isinstance(v, (dict, list))) for v in value]
    return value


def normalise(answer: Any, names: Names) -> Any:
    """``answer`` (boto3 responses, log records...) as LocalStack would have recorded it."""
    return _normalise_value(None, answer, names, parse=True)


#: Event types that end a Parallel state's run (the test's transformer sorts the branch events before each).
_PARALLEL_ENDS = {"ParallelStateSucceeded", "ParallelStateAborted", "ParallelStateExited", "ParallelStateFailed"}
#: What the transformer wrote over the id of every event inside a Parallel state's run.
_BRANCH_EVENT_ID = [0]


def _branch_events_unordered(recorded: Any) -> bool:
    """Whether a recorded history went through LocalStack's parallel-branch transformer (ids ``[0]``)."""
    return isinstance(recorded, dict) and any(
        isinstance(event, dict) and event.get("id") == _BRANCH_EVENT_ID for event in recorded.get("events") or []
    )


def _unorder_branch_events(events: list[Any]) -> None:
    """Do to ``events`` (in place) what the recording's parallel-branch transformer did to AWS's.

    Branches run concurrently, so the order of their events is not AWS's to promise: the tests that
    recorded Parallel states rewrote each event after a ``ParallelStateStarted`` to id ``[0]`` and
    previous id ``0``, and at each event that ends a Parallel run put the events since the last
    ``ParallelStateStarted`` back sorted by their JSON text. Walked as that transformer walked the list
    (its length may shrink under the walk: an end event seen twice, Failed then Exited, replaces the
    first with nothing, which is why such recordings lack their ``ParallelStateFailed``).
    """
    start: int | None = None
    branch: list[Any] = []
    inside = False
    index = 0
    while index < len(events):
        kind = events[index].get("type") if isinstance(events[index], dict) else None
        if kind is None:
            inside = False
        elif kind in _PARALLEL_ENDS:
            if start is not None:
                events[start:index] = sorted(branch, key=lambda event: json.dumps(event, sort_keys=True))
            inside = False
        elif kind == "ParallelStateStarted":
            inside, branch, start = True, [], index + 1
        elif inside:
            events[index]["id"] = list(_BRANCH_EVENT_ID)
            events[index]["previousEventId"] = 0
            branch.append(events[index])
        index += 1


def mirror_recording_transformers(actual: Any, recorded: Any) -> Any:
    """``actual`` (normalised) with the per-test transformers the recording shows applied to it too."""
    if not (isinstance(actual, dict) and isinstance(recorded, dict)):
        return actual
    for key, history in actual.items():
        if isinstance(history, dict) and isinstance(history.get("events"), list) and _branch_events_unordered(recorded.get(key)):
            _unorder_branch_events(history["events"])
    return actual


#: Fields AWS added to its answers after some recordings were made, with the day they appeared:
#: ``$$.Execution.RedriveCount`` came with redrive (launched 15 November 2023), so a recording made
#: before then cannot hold it (``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``, recorded October 2023).
_CONTEXT_FIELDS_SINCE = {"RedriveCount": date(2023, 11, 15)}
#: The keys that make an object a ``$$.Execution`` context object.
_EXECUTION_CONTEXT_KEYS = {"Id", "Input", "Name", "RoleArn", "StartTime"}


def without_later_fields(actual: Any, recorded_on: date | None) -> Any:
    """``actual`` without the context-object fields AWS added after ``recorded_on`` (in place)."""
    later = {name for name, since in _CONTEXT_FIELDS_SINCE.items() if recorded_on is not None and recorded_on < since}
    if not later:
        return actual

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if _EXECUTION_CONTEXT_KEYS <= value.keys():
                for name in later:
                    value.pop(name, None)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(actual)
    return actual
