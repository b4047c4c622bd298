"""JavaScript's regular expressions (``RegExp`` without the ``u`` flag) on Python's ``re``.

Step Functions runs JSONata 2.0.6, which hands a ``/regex/flags`` literal to JavaScript's ``RegExp``;
Python's ``re`` reads the same text with another syntax and meaning. :func:`translate` reads a pattern
as JavaScript does (with the web browsers' Annex B syntax) and writes the Python pattern that means the
same, over the string's UTF-16 code units (:func:`to_units`), canonicalized for ``i``
(:meth:`JsRegExp.subject`):

* ``$`` matches only at the very end (Python's also before a final newline: ``"key-1\\n"`` would pass
  ``/^[A-Za-z0-9_.:-]{1,128}$/``); with ``m``, ``^`` and ``$`` also at ``\\n``, ``\\r``, U+2028 and U+2029;
* ``.`` matches anything but those four line terminators (Python's anything but ``\\n``);
* ``\\d``, ``\\w`` and ``\\b`` are ASCII (``[0-9]``, ``[A-Za-z0-9_]``); ``\\s`` is JavaScript's white space;
* strings are UTF-16 code units: ``.`` matches half of an emoji, and positions count code units;
* ``i`` compares characters by JavaScript's ``Canonicalize`` (upper case, one unit, never non-ASCII to
  ASCII): ``/s/i`` does not match ``ſ``, ``/k/i`` not the Kelvin sign;
* Annex B escapes: ``\\Z`` is a ``Z``, ``\\1`` without a group an octal escape, ``\\cJ`` a control
  character, ``{,2}`` literal text, ``[^]`` anything, ``[]`` nothing; a backreference to a group that did
  not take part matches the empty string;
* what JavaScript refuses is refused (``(?P<n>...)``, ``a*+``, ``(?i)``, a range out of order).

What still differs (``tests/engine/test_jsonata_differential.py`` lists each): a group inside a
repeated group keeps its last capture where JavaScript resets it on each repetition, and Python
refuses a lookbehind whose length varies (``(?<=a+)``) where JavaScript accepts it.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_DIGIT = ((0x30, 0x39),)
_SPACE = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
    (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
)  # fmt: skip
_UNITS = 0x10000
_TERMINATORS = "\\n\\r\\u2028\\u2029"
_DOT = f"[^{_TERMINATORS}]"
_WORD_CLASS = "[A-Za-z0-9_]"
_BOUNDARY = f"(?:(?<={_WORD_CLASS})(?!{_WORD_CLASS})|(?<!{_WORD_CLASS})(?={_WORD_CLASS}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD_CLASS})(?={_WORD_CLASS})|(?<!{_WORD_CLASS})(?!{_WORD_CLASS}))"
#: Python's largest repetition count; JavaScript accepts any, which no string of 256 KB could tell apart.
_MAX_REPEAT = 4_294_967_294
_QUANTIFIER = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_GROUP_NAME = re.compile(r"[A-Za-z_$\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")


class JsRegExpSyntaxError(ValueError):
    """A pattern JavaScript's ``RegExp`` refuses (JSONata fails the expression)."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"Invalid regular expression: /{source}/: {problem}")


# ---------------------------------------------------------------------------------------------
# Strings as UTF-16 code units


def to_units(text: str) -> str:
    """``text`` with every character past U+FFFF as its two surrogates, as JavaScript holds a string."""
    if not _ASTRAL.search(text):
        return text
    return _ASTRAL.sub(lambda found: _pair(found.group()), text)


def _pair(char: str) -> str:
    value = ord(char) - 0x10000
    return chr(0xD800 + (value >> 10)) + chr(0xDC00 + (value & 0x3FF))


def from_units(units: str) -> str:
    """Code units back to a string: surrogate pairs become their character, lone surrogates stay."""
    if not _SURROGATE.search(units):
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


# ---------------------------------------------------------------------------------------------
# Case-insensitive matching: JavaScript's Canonicalize (non-unicode mode)


@functools.lru_cache(maxsize=1)
def _canonical() -> tuple[dict[int, int], list[int]]:
    """Every code unit that Canonicalize changes, and to what; and those units sorted."""
    changed: dict[int, int] = {}
    for unit in range(_UNITS):
        upper = chr(unit).upper()
        if len(upper) == 1 and upper != chr(unit) and not (unit >= 128 and ord(upper) < 128):
            changed[unit] = ord(upper)
    return changed, sorted(changed)


def _fold(units: str) -> str:
    return units.translate(_canonical()[0])


def _fold_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A class's ranges plus the canonical form of every unit in them (the text is matched canonicalized)."""
    changed, units = _canonical()
    extra: list[tuple[int, int]] = []
    for low, high in ranges:
        for unit in units[bisect.bisect_left(units, low) : bisect.bisect_right(units, high)]:
            extra.append((changed[unit], changed[unit]))
    return _normalise(ranges + extra)


def _normalise(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    result, start = [], 0
    for low, high in _normalise(ranges):
        if low > start:
            result.append((start, low - 1))
        start = high + 1
    if start < _UNITS:
        result.append((start, _UNITS - 1))
    return result


def _class_text(ranges: list[tuple[int, int]], negated: bool = False) -> str:
    if not ranges:
        return "[\\s\\S]" if negated else "(?!)"
    parts = "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges)
    return f"[{'^' if negated else ''}{parts}]"


# ---------------------------------------------------------------------------------------------
# The pattern, read as JavaScript reads it


@dataclass
class _Groups:
    count: int
    names: dict[str, int]


def _scan_groups(source: str) -> _Groups:
    """The capturing groups of a pattern (their count and names), found before parsing as JavaScript does."""
    count, names, position, in_class = 0, {}, 0, False
    while position < len(source):
        char = source[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            rest = source[position + 1 : position + 3]
            if not rest.startswith("?"):
                count += 1
            elif rest == "?<" and source[position + 3 : position + 4] not in ("=", "!"):
                count += 1
                end = source.find(">", position + 3)
                if end != -1:
                    names.setdefault(source[position + 3 : end], count)
        position += 1
    return _Groups(count, names)


class _Translator:
    """One pattern, parsed as JavaScript's RegExp (non-unicode, Annex B) and written as a Python pattern."""

    def __init__(self, source: str, ignore_case: bool, multiline: bool) -> None:
        self.source = source
        self.units = to_units(source)
        self.ignore_case = ignore_case
        self.multiline = multiline
        self.position = 0
        self.groups = _scan_groups(self.units)
        self.opened = 0  # capturing groups opened so far
        self.closed: set[int] = set()
        self.names_seen: set[str] = set()

    def fail(self, problem: str) -> JsRegExpSyntaxError:
        return JsRegExpSyntaxError(self.source, problem)

    def peek(self, length: int = 1) -> str:
        return self.units[self.position : self.position + length]

    def translate(self) -> str:
        text = self.disjunction()
        if self.position < len(self.units):
            raise self.fail("Unmatched ')'")
        return text

    def disjunction(self) -> str:
        alternatives = [self.alternative()]
        while self.peek() == "|":
            self.position += 1
            alternatives.append(self.alternative())
        return "|".join(alternatives)

    def alternative(self) -> str:
        terms: list[str] = []
        while self.position < len(self.units) and self.peek() not in ("|", ")"):
            terms.append(self.term())
        return "".join(terms)

    def term(self) -> str:
        char = self.peek()
        if char == "^":
            self.position += 1
            return f"(?<![^{_TERMINATORS}])" if self.multiline else "(?<![\\s\\S])"
        if char == "$":
            self.position += 1
            return f"(?![^{_TERMINATORS}])" if self.multiline else "(?![\\s\\S])"
        if self.peek(2) in ("\\b", "\\B"):
            self.position += 2
            return _BOUNDARY if char + self.units[self.position - 1] == "\\b" else _NOT_BOUNDARY
        if self.peek(4) in ("(?<=", "(?<!"):
            kind = self.peek(4)
            self.position += 4
            body = self.disjunction()
            self.expect(")")
            return f"{kind}{body})"  # never quantified: "(?<=a)*" is "Nothing to repeat"
        return self.quantified(self.atom())

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail("Unterminated group")
        self.position += 1

    def quantified(self, atom: str) -> str:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.position += 1
            quantifier = char
        elif char == "{" and (found := _QUANTIFIER.match(self.units, self.position)):
            low = int(found.group(1))
            high = None if found.group(2) and not found.group(3) else int(found.group(3) or found.group(1))
            if high is not None and high < low:
                raise self.fail("numbers out of order in {} quantifier")
            self.position = found.end()
            low = min(low, _MAX_REPEAT)
            quantifier = f"{{{low},}}" if high is None else f"{{{low},{min(high, _MAX_REPEAT)}}}"
        else:
            return atom
        if self.peek() == "?":
            self.position += 1
            quantifier += "?"
        return f"(?:{atom}){quantifier}"

    def atom(self) -> str:
        char = self.peek()
        self.position += 1
        if char == ".":
            return _DOT
        if char == "(":
            return self.group()
        if char == "[":
            return self.character_class()
        if char == "\\":
            return self.atom_escape()
        if char in ("*", "+", "?"):
            raise self.fail("Nothing to repeat")
        if char == "{" and _QUANTIFIER.match(self.units, self.position - 1):
            raise self.fail("Nothing to repeat")
        return self.literal(ord(char))

    def group(self) -> str:
        if self.peek() != "?":
            return self.capture()
        kind = self.peek(2)
        if kind in ("?:", "?=", "?!"):
            self.position += 2
            body = self.disjunction()
            self.expect(")")
            return f"(?{kind[1]}{body})"
        if kind == "?<":
            self.position += 2
            end = self.units.find(">", self.position)
            name = self.units[self.position : end] if end != -1 else ""
            if not _GROUP_NAME.fullmatch(name):
                raise self.fail("Invalid capture group name")
            if name in self.names_seen:
                raise self.fail("Duplicate capture group name")
            self.names_seen.add(name)
            self.position = end + 1
            return self.capture()
        raise self.fail("Invalid group")

    def capture(self) -> str:
        self.opened += 1
        number = self.opened
        body = self.disjunction()
        self.expect(")")
        self.closed.add(number)
        return f"({body})"

    def backreference(self, number: int) -> str:
        """A group that has not closed yet, or did not take part, matches the empty string (as in JavaScript)."""
        if number not in self.closed:
            return "(?:)"
        return f"(?({number})(?:\\{number}))"

    def atom_escape(self) -> str:
        if self.position >= len(self.units):
            raise self.fail("\\ at end of pattern")
        char = self.peek()
        if char in "dDwWsS":
            self.position += 1
            ranges = {"d": _DIGIT, "w": _WORD, "s": _SPACE}[char.lower()]
            return self.class_of(list(ranges), negated=char.isupper())
        if char.isdigit() and char != "0":
            digits = re.match(r"[0-9]+", self.units[self.position :]).group()  # type: ignore[union-attr]
            if int(digits) <= self.groups.count:
                self.position += len(digits)
                return self.backreference(int(digits))
        if char == "k" and self.groups.names:
            found = re.match(r"k<([^>]*)>", self.units[self.position :])
            if not found or found.group(1) not in self.groups.names:
                raise self.fail("Invalid named reference")
            self.position += found.end()
            return self.backreference(self.groups.names[found.group(1)])
        unit = self.character_escape(in_class=False)
        return self.literal(unit)

    def character_escape(self, in_class: bool) -> int:
        """The code unit of the escape after a ``\\`` (Annex B: unknown escapes are the character itself)."""
        char = self.peek()
        simple = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
        if char in simple:
            self.position += 1
            return simple[char]
        if char == "c":
            letter = self.units[self.position + 1 : self.position + 2]
            if letter.isascii() and (letter.isalpha() or (in_class and (letter.isdigit() or letter == "_"))):
                self.position += 2
                return ord(letter) % 32
            return ord("\\")  # "\c" alone is a backslash; the "c" is read next
        if char == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", self.peek(3)[1:]):
            self.position += 3
            return int(self.units[self.position - 2 : self.position], 16)
        if char == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", self.peek(5)[1:]):
            self.position += 5
            return int(self.units[self.position - 4 : self.position], 16)
        if char in "01234567":
            limit = 3 if char in "0123" else 2
            digits = re.match(f"[0-7]{{1,{limit}}}", self.units[self.position :]).group()  # type: ignore[union-attr]
            self.position += len(digits)
            return int(digits, 8)
        if char == "k" and self.groups.names:
            raise self.fail("Invalid escape")
        self.position += 1
        return ord(char)

    def literal(self, unit: int) -> str:
        if self.ignore_case:
            unit = _canonical()[0].get(unit, unit)
        return re.escape(chr(unit)) if unit >= 0x20 else f"\\x{unit:02x}"

    def class_of(self, ranges: list[tuple[int, int]], negated: bool) -> str:
        ranges = _normalise(ranges)
        if self.ignore_case:
            ranges = _fold_ranges(ranges)
        return _class_text(ranges, negated)

    def character_class(self) -> str:
        negated = self.peek() == "^"
        if negated:
            self.position += 1
        ranges: list[tuple[int, int]] = []
        while True:
            if self.position >= len(self.units):
                raise self.fail("Unterminated character class")
            if self.peek() == "]":
                self.position += 1
                break
            first = self.class_atom()
            if self.peek() == "-" and self.units[self.position + 1 : self.position + 2] not in ("]", ""):
                self.position += 1
                second = self.class_atom()
                if isinstance(first, int) and isinstance(second, int):
                    if first > second:
                        raise self.fail("Range out of order in character class")
                    ranges.append((first, second))
                    continue
                ranges.append((ord("-"), ord("-")))  # Annex B: a class escape at either end makes "-" itself
                for atom in (first, second):
                    ranges.extend([(atom, atom)] if isinstance(atom, int) else atom)
                continue
            ranges.extend([(first, first)] if isinstance(first, int) else first)
        return self.class_of(ranges, negated)

    def class_atom(self) -> int | list[tuple[int, int]]:
        char = self.peek()
        self.position += 1
        if char != "\\":
            return ord(char)
        if self.position >= len(self.units):
            raise self.fail("\\ at end of pattern")
        escaped = self.peek()
        if escaped in "dDwWsS":
            self.position += 1
            ranges = list({"d": _DIGIT, "w": _WORD, "s": _SPACE}[escaped.lower()])
            return _complement(ranges) if escaped.isupper() else ranges
        if escaped == "b":
            self.position += 1
            return 0x08
        if escaped == "-":
            self.position += 1
            return ord("-")
        return self.character_escape(in_class=True)




def translate(source: str, ignore_case: bool = False, multiline: bool = False) -> str:
    """The Python pattern (over UTF-16 code units, canonicalized with ``i``) that means what ``source`` means in JavaScript."""
    return _Translator(source, ignore_case, multiline).translate()


class JsRegExp:
    """A pattern compiled with JavaScript's meaning: search :meth:`subject` of :func:`to_units` of a string."""

    def __init__(self, source: str, ignore_case: bool = False, multiline: bool = False) -> None:
        self.source = source
        self.ignore_case = ignore_case
        self.multiline = multiline
        try:
            self.pattern = re.compile(translate(source, ignore_case, multiline))
        except re.error as error:  # what JavaScript runs and Python cannot: a lookbehind of varying length
            raise JsRegExpSyntaxError(source, f"the engine cannot run it ({error})") from None

    def __repr__(self) -> str:
        return f"/{self.source}/{'i' if self.ignore_case else ''}{'m' if self.multiline else ''}"

    def subject(self, units: str) -> str:
        """What the pattern searches for a string's code units: the same units, canonicalized with ``i``
        (one unit for one unit, so every position is the string's own)."""
        return _fold(units) if self.ignore_case else units
