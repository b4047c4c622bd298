"""Subscribe to the breaker's transition events on the local engine, as an EventBridge consumer would.

A rule on the breaker's event bus sends every event of the breaker's source into an SQS queue;
:meth:`EventCapture.drain` reads and removes what arrived. The demo shows the events with it, and
the tests check them with it.
"""

from __future__ import annotations

import json
from typing import Any

from circuit_breaker.core.transitions import EVENT_DETAIL_TYPE
from circuit_breaker.local.engine import LocalEngine


class EventCapture:
    """Every transition event published on the engine, kept in an SQS queue until drained."""

    def __init__(self, engine: LocalEngine, name: str) -> None:
        session = engine.session()
        deployment = engine.deployment()
        self.sqs = session.client("sqs")
        self.queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = session.client("events")
        events.put_rule(
            Name=name,
            EventBusName=deployment.event_bus_name,
            EventPattern=json.dumps({"source": [deployment.event_source], "detail-type": [EVENT_DETAIL_TYPE]}),
        )
        events.put_targets(Rule=name, EventBusName=deployment.event_bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def drain(self) -> list[dict[str, Any]]:
        """The events received since the last drain, oldest first (a probe's half-open before its outcome)."""
        received: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return sorted(received, key=lambda e: (e["detail"].get("at", 0), e["detail"]["to"] != "HALF_OPEN"))
