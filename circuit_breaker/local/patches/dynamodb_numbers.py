"""DynamoDB numbers as DynamoDB holds them: projected as they are stored, refused past its range.

- A projection (``ProjectionExpression`` of GetItem, Query, Scan, BatchGetItem) picks the stored
  attribute values. moto's ``Item.project`` round-tripped the whole item through boto3's
  ``TypeDeserializer`` and ``TypeSerializer``, whose decimal context (38 digits, ``Rounded`` and
  ``Inexact`` trapped) fails on a number DynamoDB does hold: ``1`` followed by 38 zeros has 39
  digits but one significant digit (DynamoDB trims leading and trailing zeros). Any such attribute,
  projected or not, made the read an internal error where AWS answers; the workflow's ``Get circuit``
  is projected, so the call then went down the store-error path. :func:`project` walks moto's own
  ``DynamoType`` values instead, nested paths (``m.a``, ``l[1].x``) included.
- A number DynamoDB cannot hold is refused with DynamoDB's ``ValidationException``, wherever a
  request carries it (item, key, ``ExpressionAttributeValues``; in lists, maps and number sets):
  more than 38 significant digits, a magnitude above 9.9999999999999999999999999999999999999E+125
  or below 1E-130 (the developer guide's *Naming rules and data types*). moto checked only PutItem's
  item, in floating point (so 1E+126 passed), and never the digits: :func:`refusal`.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterator

#: DynamoDB's messages for a number it cannot hold, in the order it checks them.
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"

_MAX_DIGITS = 38
_MAX_EXPONENT = 125
_MIN_EXPONENT = -130
_INDEXED = re.compile(r"\[(\d+)\]")


def number_refusal(text: str) -> str | None:
    """DynamoDB's message for a number it cannot hold, or None (also for text that is not a number: moto words that)."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number.is_zero():
        return None
    magnitude = number.adjusted()  # the exponent of the first significant digit, exact whatever the precision
    if magnitude > _MAX_EXPONENT:
        return OVERFLOW
    if magnitude < _MIN_EXPONENT:
        return UNDERFLOW
    significant = "".join(map(str, number.as_tuple().digits)).rstrip("0")  # no leading zeros: Decimal drops them
    if len(significant) > _MAX_DIGITS:
        return TOO_PRECISE
    return None


def _numbers(value: Any) -> Iterator[str]:
    """Every number of a request body: the ``N`` of an attribute value and each member of an ``NS``, at any depth."""
    if isinstance(value, dict):
        if len(value) == 1:
            (kind, inner), = value.items()
            if kind == "N" and isinstance(inner, str):
                yield inner
                return
            if kind == "NS" and isinstance(inner, list):
                yield from (member for member in inner if isinstance(member, str))
                return
        for inner in value.values():
            yield from _numbers(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _numbers(inner)


def refusal(body: Any) -> str | None:
    """The ``ValidationException`` message DynamoDB answers for the first number of ``body`` it cannot hold."""
    for text in _numbers(body):
        found = number_refusal(text)
        if found:
            return found
    return None


def refuses_numbers_it_cannot_hold(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a ``DynamoHandler`` operation: a number DynamoDB cannot hold is its ValidationException."""

    def handle(self: Any) -> Any:
        from moto.dynamodb.exceptions import MockValidationException

        found = refusal(self.body)
        if found:
            raise MockValidationException(found)
        return original(self)

    return handle


# ---------------------------------------------------------------------------------------------
# Projection


def _steps(path: list[str]) -> list[str | int]:
    """``["m", "l[1][2]", "x"]`` (moto's parsed projection path) as ``["m", "l", 1, 2, "x"]``."""
    steps: list[str | int] = []
    for element in path:
        first = element.find("[")
        name, indexes = (element, "") if first <= 0 else (element[:first], element[first:])
        steps.append(name)
        steps.extend(int(index) for index in _INDEXED.findall(indexes))
    return steps


def _picked(value: Any, steps: list[str | int]) -> Any:
    """What a projection path keeps of ``value`` (a ``DynamoType``), in its shape; None when the path is absent.

    The value a path ends on is kept whole (a copy, marked so that a shorter path's part never cuts it).
    """
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not steps:
        kept = copy.deepcopy(value)
        kept._breaker_whole = True
        return kept
    step, rest = steps[0], steps[1:]
    if isinstance(step, str) and value.is_map() and step in value.value:
        inner = _picked(value.value[step], rest)
        if inner is None:
            return None
        kept = DynamoType({"M": {}})
        kept.value = {step: inner}  # not through the constructor, which would re-wrap (and unmark) the part
        return kept
    if isinstance(step, int) and value.is_list() and step < len(value.value):
        inner = _picked(value.value[step], rest)
        return None if inner is None else _Elements({step: inner})
    return None


class _Elements:
    """The elements of a list a projection keeps, by index: AWS answers them in index order, each once."""

    def __init__(self, elements: dict[int, Any]) -> None:
        self.elements = elements


def _whole(value: Any) -> bool:
    return getattr(value, "_breaker_whole", False)


def _merged(into: Any, more: Any) -> Any:
    """Two projections of one value joined (``m.a, m.b``; ``l[0], l[2]``); a whole value wins over any part of it."""
    if _whole(into) or _whole(more):
        return into if _whole(into) else more
    if isinstance(into, _Elements) and isinstance(more, _Elements):
        parts = into.elements
    elif not isinstance(into, _Elements) and not isinstance(more, _Elements) and into.is_map() and more.is_map():
        parts = into.value
    else:
        return more  # the stored value cannot be both a list and a map: unreachable for one item
    for key, inner in (more.elements if isinstance(more, _Elements) else more.value).items():
        parts[key] = _merged(parts[key], inner) if key in parts else inner
    return into


def _finished(value: Any) -> Any:
    """A joined projection as moto's values: kept list elements become a list, in index order."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(value, _Elements):
        return DynamoType({"L": [_finished(value.elements[index]) for index in sorted(value.elements)]})
    if not _whole(value) and value.is_map():
        value.value = {key: _finished(inner) for key, inner in value.value.items()}
    return value


def project(self: Any, projection_expressions: list[list[str]]) -> Any:
    """Replaces ``Item.project``: a new ``Item`` holding what the projection paths select, values as stored."""
    from moto.dynamodb.models.dynamo_type import Item

    attributes: dict[str, Any] = {}
    for path in projection_expressions:
        steps = _steps(path)
        name, rest = steps[0], steps[1:]
        if not isinstance(name, str) or name not in self.attrs:
            continue
        picked = _picked(self.attrs[name], rest)
        if picked is not None:
            attributes[name] = _merged(attributes[name], picked) if name in attributes else picked
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs={k: _finished(v) for k, v in attributes.items()})
