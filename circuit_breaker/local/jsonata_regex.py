"""JSONata's regexes as the reference evaluates them: JavaScript's ``RegExp``, walked as its closure walks it.

jsonata-python compiles a ``/regex/flags`` literal through its ``regex_engine``: :func:`compile_js`
gives it a :class:`JsonataRegex`, JavaScript's pattern (:mod:`circuit_breaker.local.js_regexp`) with the
reference's way of walking its matches (the first from the start, each next from where the last ended;
the first may be empty, a later empty one is error D1004, raised when it is reached). :func:`js_match`,
:func:`js_split`, :func:`js_replace` and :func:`js_regex_closure` give ``$match``, ``$split``,
``$replace`` and a regex called as a function the reference's results: positions in UTF-16 code units,
no captured groups in ``$split``'s pieces, ``$n`` replaced as the reference reads it, the replacer
function handed ``{match, start, end, groups, next}``, the next match looked for after each (so D1004
can end a call that reached its limit). :mod:`circuit_breaker.local.jsonata_js` installs them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

from jsonata import jexception
from jsonata.regex_engine import RegexFlags
from jsonata.utils import Utils

from circuit_breaker.local.js_regexp import JsRegExp, from_units, to_units


# ---------------------------------------------------------------------------------------------
# Matching as the reference's regex closure does


@dataclass(frozen=True)
class JsMatch:
    """One match: where it is in code units (as JavaScript indexes a string), its text and its groups.

    ``group``, ``groups``, ``start`` and ``end`` answer as a Python ``re.Match`` does, for jsonata-python's
    own ``$contains``; a group that did not take part is ``None`` (JavaScript's ``undefined``).
    """

    first: int
    last: int
    text: str
    captured: tuple[str | None, ...]

    def group(self, index: int = 0) -> str | None:
        return self.text if index == 0 else self.captured[index - 1]

    def groups(self) -> tuple[str | None, ...]:
        return self.captured

    def start(self) -> int:
        return self.first

    def end(self) -> int:
        return self.last


class JsonataRegex:
    """A JSONata regex literal: JavaScript's pattern, its matches walked as the reference walks them."""

    def __init__(self, regexp: JsRegExp) -> None:
        self.regexp = regexp
        self.source = regexp.source

    def __repr__(self) -> str:
        return repr(self.regexp)

    def matches(self, text: str, after: int | None = None) -> "Matches":
        """The matches the reference's closure walks through: the first from the start (or the one after a
        match that ended at code unit ``after``), then each from where the last one ended."""
        return Matches(self, text, after)

    def _first(self, subject: str, after: int | None) -> re.Match[str] | None:
        return self.regexp.pattern.search(subject, 0) if after is None else self._following(subject, after)

    def _following(self, subject: str, end: int) -> re.Match[str] | None:
        """The match after one that ended at ``end``: none past the end; an empty one never progresses (D1004)."""
        if end >= len(subject):
            return None
        found = self.regexp.pattern.search(subject, end)
        if found is not None and found.start() == found.end():
            raise jexception.JException("D1004", -1, self.source)
        return found

    # What jsonata-python asks of a compiled pattern (``Functions.is_regex``); $match, $replace and $split
    # have their own implementations below.

    def finditer(self, string: str) -> "Matches":
        return self.matches(string)

    def search(self, string: str) -> JsMatch | None:
        return next(self.matches(string), None)

    def sub(self, *_args: Any, **_kwargs: Any) -> str:
        raise TypeError("a JavaScript regex replaces through js_replace")

    def split(self, *_args: Any, **_kwargs: Any) -> list[str]:
        raise TypeError("a JavaScript regex splits through js_split")


class Matches(Iterator[JsMatch]):
    """The successive matches of one regex in one string (an iterator that knows both, for ``next()``)."""

    def __init__(self, regex: JsonataRegex, text: str, after: int | None) -> None:
        self.regex = regex
        self.text = text
        self.units = to_units(text)
        self._subject = regex.regexp.subject(self.units)
        self._after = after
        self._started = False
        self._last: re.Match[str] | None = None

    def __next__(self) -> JsMatch:
        if not self._started:
            self._started = True
            found = self.regex._first(self._subject, self._after)
        elif self._last is None:
            found = None
        else:
            found = self.regex._following(self._subject, self._last.end())
        self._last = found
        if found is None:
            raise StopIteration
        groups = tuple(
            None if found.start(index) < 0 else from_units(self.units[found.start(index) : found.end(index)])
            for index in range(1, self.regex.regexp.pattern.groups + 1)
        )
        return JsMatch(found.start(), found.end(), from_units(self.units[found.start() : found.end()]), groups)

    def piece(self, first: int, last: int | None = None) -> str:
        """The text between two code units of the string."""
        return from_units(self.units[first:last])


def compile_js(pattern: str, flags: RegexFlags) -> JsonataRegex:
    """jsonata-python's ``regex_engine``: a ``/pattern/flags`` literal as JavaScript's RegExp."""
    return JsonataRegex(JsRegExp(pattern, flags.case_insensitive, flags.multiline))


# ---------------------------------------------------------------------------------------------
# The functions that walk matches: $match, $replace, $split, and a regex called as a function


def _walk(matches: Matches, limit: Any) -> Iterator[JsMatch]:
    """Matches up to ``limit``; as in the reference, the next one is looked for after each (so D1004 may end it)."""
    found, count = next(matches, None), 0
    while found is not None and (limit is None or count < limit):
        current = found
        found = next(matches, None)
        count += 1
        yield current


def match_object(regex: JsonataRegex, text: str, found: JsMatch) -> dict[str, Any]:
    """The reference's match object, ``{match, start, end, groups, next}``: ``next()`` is the following match's."""
    from jsonata.jsonata import Jsonata

    def following() -> Any:
        after = next(regex.matches(text, after=found.last), None)
        return None if after is None else match_object(regex, text, after)

    return {"match": found.text, "start": found.first, "end": found.last, "groups": list(found.captured), "next": Jsonata.JLambda(following)}


def js_regex_closure(iterator: Any) -> Any:
    """A regex called as a function (``/b/("abc")``): its first match as the reference's match object, or undefined."""
    found = next(iterator, None)
    return None if found is None else match_object(iterator.regex, iterator.text, found)


def js_match(original: Callable[..., Any]) -> Callable[..., Any]:
    """``$match(str, regex, limit)``."""

    def match_(string: Any, regex: Any, limit: Any) -> Any:
        if not isinstance(regex, JsonataRegex) or string is None or string is Utils.NULL_VALUE:
            return original(string, regex, limit)
        if limit is not None and limit < 0:
            raise jexception.JException("D3040", -1, limit)
        result = Utils.create_sequence()
        if limit is None or limit > 0:
            for found in _walk(regex.matches(string), limit):
                result.append({"match": found.text, "index": found.first, "groups": list(found.captured)})
        return result

    return match_


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_LEADING_INTEGER = re.compile(r"[+-]?[0-9]+")


def _parse_int(text: str) -> tuple[int, int] | None:
    """JavaScript's ``parseInt(text, 10)``: ``(value, length of its toString())``, or ``None`` for NaN."""
    found = _LEADING_INTEGER.match(text.lstrip(_JS_SPACE))
    if found is None:
        return None
    value = int(found.group())
    return value, len(str(value))  # parseInt("-0") is -0, whose toString() is "0"


def substitute(template: str, found: JsMatch) -> str:
    """A replacement string with ``$$``, ``$0`` and ``$n`` filled in, read as the reference reads them.

    The number after ``$`` has at most as many digits as the count of groups has (one less if that
    number names no group); a group that did not take part, or does not exist, adds nothing; a ``$``
    before anything else is itself.
    """
    groups = found.captured
    parts: list[str] = []
    position = 0
    index = template.find("$")
    while index != -1:
        parts.append(template[position:index])
        position = index + 1
        following = template[position : position + 1]
        if following == "$":
            parts.append("$")
            position += 1
        elif following == "0":
            parts.append(found.text)
            position += 1
        else:
            width = math.floor(math.log10(len(groups))) + 1 if groups else 1
            number = _parse_int(template[position : position + width])
            if width > 1 and number is not None and number[0] > len(groups):
                number = _parse_int(template[position : position + width - 1])
            if number is None:
                parts.append("$")
            else:
                value, length = number
                captured = groups[value - 1] if 1 <= value <= len(groups) else None
                if captured is not None:
                    parts.append(captured)
                position += length
        index = template.find("$", position)
    parts.append(template[position:])
    return "".join(parts)


def js_replace(original: Callable[..., Any]) -> Callable[..., Any]:
    """``$replace(str, pattern, replacement, limit)``; a string pattern is left to jsonata-python."""

    def replace(string: Any, pattern: Any, replacement: Any, limit: Any) -> Any:
        if not isinstance(pattern, JsonataRegex) or string is None or string is Utils.NULL_VALUE:
            return original(string, pattern, replacement, limit)
        if limit is not None and limit < 0:
            raise jexception.JException("D3011", -1, limit)
        if limit is not None and limit == 0:
            return string
        from jsonata.functions import Functions

        matches = pattern.matches(string)
        parts: list[str] = []
        position = 0
        for found in _walk(matches, limit):
            parts.append(matches.piece(position, found.first))
            if isinstance(replacement, str):
                replaced = substitute(replacement, found)
            else:
                replaced = Functions.func_apply(replacement, [match_object(pattern, string, found)])
            if not isinstance(replaced, str):
                raise jexception.JException("D3012", -1, replaced)
            parts.append(replaced)
            position = found.last
        parts.append(matches.piece(position))
        return "".join(parts)

    return replace


def js_split(original: Callable[..., Any]) -> Callable[..., Any]:
    """``$split(str, separator, limit)``: with a regex, the pieces between matches (captured groups left out)."""

    def split(string: Any, separator: Any, limit: Any) -> Any:
        if not isinstance(separator, JsonataRegex) or string is None or string is Utils.NULL_VALUE:
            return original(string, separator, limit)
        if limit is not None and limit < 0:
            raise jexception.JException("D3020", -1, string)
        result: list[str] = []
        if limit is not None and limit == 0:
            return result
        matches = separator.matches(string)
        start = count = 0
        for found in _walk(matches, limit):
            result.append(matches.piece(start, found.first))
            start = found.last
            count += 1
        if limit is None or count < limit:
            result.append(matches.piece(start))
        return result

    return split
