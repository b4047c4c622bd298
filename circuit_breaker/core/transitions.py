"""A circuit's transition event, as every Python publisher sends it (operators' commands, the health check).

The workflow publishes its own transitions from the ASL with the same detail-type; a consumer matches
them all with one rule on ``source`` and ``detail-type``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

EVENT_DETAIL_TYPE = "Circuit state changed"


def event_entry(source: str, bus_name: str, detail: Mapping[str, Any]) -> dict[str, str]:
    """The ``PutEvents`` entry of one transition (``detail``: ``callee``, ``from``, ``to``, ``reason``...)."""
    return {"Source": source, "DetailType": EVENT_DETAIL_TYPE, "EventBusName": bus_name, "Detail": json.dumps(detail)}
