"""The part of JSON5 the recorded state machine definitions use: comments and trailing commas.

LocalStack writes its templates in JSON5. They use ``//`` and ``/* */`` comments and trailing commas,
nothing else of JSON5 (every string is double-quoted), so a small scanner that drops those and hands
the rest to :mod:`json` reads them all, without another dependency.
"""

from __future__ import annotations

import json
from typing import Any


class Json5Error(ValueError):
    """The text is not JSON once comments and trailing commas are removed."""


def _after_comment(text: str, index: int) -> int | None:
    """Where the comment starting at ``index`` ends, or ``None`` when none starts there."""
    if text.startswith("//", index):
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if text.startswith("/*", index):
        end = text.find("*/", index + 2)
        if end < 0:
            raise Json5Error("unterminated /* comment")
        return end + 2
    return None


def _next_significant(text: str, index: int) -> str:
    """The next character after ``index`` that is neither whitespace nor inside a comment."""
    while index < len(text):
        after = _after_comment(text, index)
        if after is not None:
            index = after
        elif text[index].isspace():
            index += 1
        else:
            return text[index]
    return ""


def to_json(text: str) -> str:
    """``text`` without comments and trailing commas (strings are copied untouched)."""
    out: list[str] = []
    index, length = 0, len(text)
    in_string = False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 2
                continue
            in_string = char != '"'
            index += 1
        elif char == '"':
            in_string = True
            out.append(char)
            index += 1
        elif (after := _after_comment(text, index)) is not None:
            index = after
        elif char == "," and _next_significant(text, index + 1) in ("}", "]"):
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def loads(text: str) -> Any:
    """Parse JSON5 text of the kind the recorded templates are written in."""
    try:
        return json.loads(to_json(text))
    except json.JSONDecodeError as error:
        raise Json5Error(f"not JSON5 this reader understands: {error}") from None
