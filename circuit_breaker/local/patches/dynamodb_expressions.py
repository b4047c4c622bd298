"""DynamoDB expressions that do not parse are a ValidationException, as on AWS.

moto's condition-expression parser raises a bare ``ValueError`` for a syntax error, which escapes the
DynamoDB API as an internal error instead of the ``ValidationException`` AWS answers ("Invalid
ConditionExpression: Syntax error; ..."). A Step Functions task then cannot tell a request that can
never succeed from an outage.
"""

from __future__ import annotations

from typing import Any, Iterable


def condition_syntax_error(self: Any, condition: bool, message: str, nodes: Iterable[Any]) -> None:
    """Replaces ``ConditionExpressionParser._assert``: a failed parse raises AWS's ValidationException."""
    from moto.dynamodb.exceptions import InvalidConditionExpression

    if not condition:
        raise InvalidConditionExpression("Syntax error; " + message + " " + " ".join(t.text for t in nodes))
