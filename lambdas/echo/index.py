"""Sample callee ``echo``: answers with the payload it was called with, unchanged.

It logs the breaker depth the workflow hands over in the Lambda client context, which is what a
callee that calls the breaker again passes on.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def breaker_depth(context: LambdaContext) -> int | None:
    """The call-chain depth the breaker put in ``ClientContext.custom.breakerDepth``, if any."""
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None) or {}
    depth = custom.get("breakerDepth")
    return depth if isinstance(depth, int) else None


@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> Any:
    logger.info("echoing payload", extra={"breaker_depth": breaker_depth(context)})
    return event
