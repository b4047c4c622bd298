"""Compare what the engine answered (normalised) with what AWS recorded, value by value.

Rules, each the recording's own:

* objects must have the same keys, lists the same length, scalars the same value *and* type
  (``1`` is not ``1.0``, ``0`` is not ``false``);
* a recorded string may hold placeholders (``<uuid:1>``, ``<ArnPart_0idx>``, ``<lambda_function_name>``):
  each matches any non-empty text, and the same placeholder must match the same text wherever it
  appears in one recording, as LocalStack replaced one value by one placeholder;
* a recorded value where the engine answered JSON text (some tests parsed such text before
  recording) is compared with the value the text holds;
* two strings that are both JSON texts (LocalStack kept arrays and scalars as text) are compared by
  the values they hold: ``[1,2]`` and ``[1, 2]`` say the same thing, ``[1.0]`` and ``[1]`` do not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_\-]*(?::\d+)?>")
_MAX_DIFF_LINES = 12
#: Keys whose value some recordings replaced by the key's own name and others by a ``<uuid:n>``
#: placeholder (the order of LocalStack's transformers differed between tests): the name matches any value.
_NAMED_VALUES = {"x-amzn-RequestId", "RequestId"}
#: Values that measure the wall clock, which the harness's engine does not follow (its waits are not
#: slept): any value of the recorded kind matches (Express billing is a positive multiple of 100 ms).
_CLOCK_VALUES = {"billedDurationInMilliseconds"}


@dataclass
class Comparison:
    """The differences found, and the placeholder bindings made on the way."""

    differences: list[str] = field(default_factory=list)
    bindings: dict[str, str] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.differences

    def diff(self) -> str:
        lines = self.differences[:_MAX_DIFF_LINES]
        if len(self.differences) > _MAX_DIFF_LINES:
            lines.append(f"... and {len(self.differences) - _MAX_DIFF_LINES} more")
        return "\n".join(lines)


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return type(value).__name__


def _same_json(left: Any, right: Any) -> bool:
    """Equal values of equal JSON kinds, all the way down."""
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same_json(a, b) for a, b in zip(left, right))
    return left == right


def _json_text(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


class _Matcher:
    def __init__(self, comparison: Comparison) -> None:
        self.result = comparison

    def strings(self, path: str, expected: str, actual: str) -> None:
        if expected == actual:
            return
        if PLACEHOLDER.search(expected) and self._placeholders(expected, actual):
            return
        ok_expected, value_expected = _json_text(expected)
        ok_actual, value_actual = _json_text(actual)
        if ok_expected and ok_actual and not isinstance(value_expected, str):
            self.value(path, value_expected, value_actual)
            return
        self.result.differences.append(f"{path}: expected {_short(expected)}, got {_short(actual)}")

    def _placeholders(self, expected: str, actual: str) -> bool:
        pattern, names, position, seen = [], [], 0, set()
        for match in PLACEHOLDER.finditer(expected):
            pattern.append(re.escape(expected[position : match.start()]))
            token = match.group(0)
            if token in self.result.bindings:
                pattern.append(re.escape(self.result.bindings[token]))
            elif token in seen:
                pattern.append(f"(?P=g{names.index(token)})")
            else:
                pattern.append(f"(?P<g{len(names)}>.+?)")
                names.append(token)
                seen.add(token)
            position = match.end()
        pattern.append(re.escape(expected[position:]))
        found = re.fullmatch("".join(pattern), actual, re.DOTALL)
        if not found:
            return False
        for index, token in enumerate(names):
            self.result.bindings[token] = found.group(f"g{index}")
        return True

    def value(self, path: str, expected: Any, actual: Any) -> None:
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in expected:
                if key not in actual:
                    self.result.differences.append(f"{path}.{key}: missing (expected {_short(expected[key])})")
            for key in actual:
                if key not in expected:
                    self.result.differences.append(f"{path}.{key}: not recorded by AWS (got {_short(actual[key])})")
            for key in expected:
                if key not in actual or (key in _NAMED_VALUES and expected[key] == key):
                    continue
                if key in _CLOCK_VALUES and _kind(actual[key]) == _kind(expected[key]) == "int" and actual[key] > 0 and actual[key] % 100 == 0:
                    continue
                self.value(f"{path}.{key}", expected[key], actual[key])
        elif isinstance(expected, list) and isinstance(actual, list):
            if len(expected) != len(actual):
                self.result.differences.append(f"{path}: {len(expected)} items expected, got {len(actual)}")
            for index, (left, right) in enumerate(zip(expected, actual)):
                self.value(f"{path}[{index}]", left, right)
        elif isinstance(expected, str) and isinstance(actual, str):
            self.strings(path, expected, actual)
        elif isinstance(actual, str) and not isinstance(expected, str) and _json_text(actual)[0]:
            # A test's own transformer parsed this JSON text in the recording; compare what it holds.
            self.value(path, expected, _json_text(actual)[1])
        elif not _same_json(expected, actual):
            self.result.differences.append(f"{path}: expected {_short(expected)}, got {_short(actual)}")


def compare(expected: Any, actual: Any, path: str = "$") -> Comparison:
    """Compare a recording (``expected``) with the engine's normalised answer (``actual``)."""
    comparison = Comparison()
    _Matcher(comparison).value(path, expected, actual)
    return comparison
