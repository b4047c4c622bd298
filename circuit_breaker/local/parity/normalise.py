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
#: ISO 8601 date-times inside text (the snapshot library's PATTERN_ISO8601 became "date").
_ISO8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")


@dataclass(frozen=True)
class Names:
    """What the harness named things, and the placeholder each was recorded as."""

    account: str
    region: str
    replacements: Mapping[str, str] = field(default_factory=dict)
    """Literal text -> placeholder (function names, table names, the role ARN, the state machine's name...)."""
    fixed_keys: Mapping[str, str] = field(default_factory=dict)
    """Extra ``key -> word`` replacements a recording used (``StartTime`` -> ``start-time``, say)."""


def _replace_text(text: str, names: Names) -> str:
    # Longest first, so an ARN is replaced before the function name inside it.
    for literal in sorted(names.replacements, key=len, reverse=True):
        if literal:
            text = text.replace(literal, names.replacements[literal])
    text = text.replace(f"arn:aws:", "arn:<partition>:")
    text = text.replace(names.account, RECORDED_ACCOUNT)
    text = text.replace(names.region, "<region>")
    text = _EXTENDED_REQUEST_ID.sub("Extended Request ID: <extended_request_id>", text)
    text = _ISO8601.sub("date", text)
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
        if _TIMESTAMP_KEY.search(key) and not isinstance(value, (dict, list)) and not _ISO8601.fullmatch(str(value)):
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
