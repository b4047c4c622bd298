"""EventBridge as AWS runs it: what ``PutEvents`` accepts, and the events its rules deliver.

- An entry's ``Detail`` must be a JSON object: ``"\\"jsonstring\\""`` (JSON, but a string) is refused as
  ``MalformedDetail`` like text that is not JSON at all. moto accepted it with a warning and then failed
  delivering it (its input template cannot hold a bare string), ending the calling task with a
  ``States.Runtime`` JSON error.
- A delivered event carries the ``account`` it was put in; moto's default input template left it out.

Recorded by AWS: ``../shared/parity/localstack-sfn/v2/services/test_events_task_service.snapshot.json`` (``test_put_events_base``,
``test_put_events_malformed_detail``, ``test_put_events_mixed_malformed_detail``).
"""

from __future__ import annotations

import json
from typing import Any, Callable

#: The event a rule's target receives when it has no input transformer (AWS's envelope, every field).
DELIVERED_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", "account": "<account>", '
    '"time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)
_MALFORMED = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def _detail_is_not_an_object(entry: dict[str, Any]) -> bool:
    detail = entry.get("Detail")
    if not isinstance(detail, str) or not entry.get("Source") or not entry.get("DetailType"):
        return False  # moto names missing fields itself
    try:
        return not isinstance(json.loads(detail), dict)
    except ValueError:
        return False  # moto answers MalformedDetail for text that is not JSON


def refuses_details_that_are_not_objects(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``EventsBackend.put_events``: an entry whose Detail is JSON but not an object is ``MalformedDetail``."""

    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10 or not any(_detail_is_not_an_object(event) for event in events):
            return original(self, events)
        entries: list[dict[str, Any]] = []
        for event in events:
            entries.extend([dict(_MALFORMED)] if _detail_is_not_an_object(event) else original(self, [event]))
        return entries

    return put_events
