"""jsonata-python made to answer as the JavaScript reference, jsonata 2.0.6, which Step Functions runs.

jsonata-python is a port: where Python and JavaScript differ, it follows Python. Step Functions
evaluates JSONata 2.0.6 (JavaScript), so the engine must see what the reference sees:

* numbers are IEEE doubles: ``JSON.parse`` turns ``16.0`` into ``16`` and 2^53 + 1 into 2^53, and
  ``JSON.stringify`` writes ``1e+21`` but ``100000000000000000000`` (:func:`to_reference`,
  :func:`from_reference`, :func:`number_text`);
* ``$string`` is ``JSON.stringify`` with numbers rounded to 15 significant digits, non-ASCII kept
  (``é``, not ``\\u00e9``) and lone surrogates escaped (:func:`stringify`);
* ``$number`` accepts only JSONata's number syntax (not ``' 12 '``, ``'+5'``, ``'.5'``, ``'1_000'``);
* strings compare (``<``, ``$sort``) by UTF-16 code units, not code points;
* a JSON null argument is a null, not a missing argument: ``$lookup(registry, null)`` fails;
* ``%`` keeps the fraction (``5.5 % 2`` is 1.5), ``in`` compares as ``===`` (``true in [1]`` is false);
* an object's array-index keys (``"0"``, ``"42"``) come first, in ascending order, as in any
  JavaScript object;
* looking up a name that an object inherits from ``Object.prototype`` (``constructor``,
  ``toString``, ``__proto__``, ...) finds the inherited member, so ``$lookup(registry, 'constructor')``
  exists (:data:`PROTOTYPE_MEMBERS`).

:func:`install` patches jsonata-python in place (it is used by nothing but the engine); it refuses
to run on another version than :data:`JSONATA_PYTHON_VERSION`, and :data:`PATCHED` names every
attribute it replaces so a test can fail loudly when an upgrade moves one.
"""

from __future__ import annotations

import base64
import math
import re
import threading
from decimal import ROUND_HALF_UP, Decimal
from importlib.metadata import version
from typing import Any, Callable

from jsonata import functions as jsonata_functions
from jsonata import jexception
from jsonata import signature as jsonata_signature
from jsonata.jsonata import Jsonata
from jsonata.utils import Utils

from circuit_breaker.local import jsonata_regex

#: The jsonata-python release these patches were written against.
JSONATA_PYTHON_VERSION = "0.7.1"

#: What a plain JavaScript object inherits (``Object.getOwnPropertyNames(Object.prototype)`` in Node 24).
PROTOTYPE_MEMBERS = frozenset(
    {
        "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
        "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf",
        "__proto__", "toLocaleString",
    }
)

_SAFE_INTEGER = 2**53
_ARRAY_INDEX_LIMIT = 2**32 - 2


class UnsupportedJsonataVersionError(RuntimeError):
    """The installed jsonata-python is not the version these patches were written for."""


# ---------------------------------------------------------------------------------------------
# Numbers


def _number(value: int | float) -> int | float:
    """A number as a JavaScript double: integral values as ``int`` (exact below 2^53), others ``float``."""
    if isinstance(value, int):
        if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            return value
        try:
            value = float(value)
        except OverflowError:  # an integer past 1.8e308: JSON.parse reads it as Infinity, as it reads 1e400
            return math.inf if value > 0 else -math.inf
    if value.is_integer() and abs(value) <= _SAFE_INTEGER:
        return int(value)  # -0.0 becomes 0, as JSON.stringify writes it
    return value


def number_text(value: float) -> str:
    """``Number.prototype.toString()``: the shortest digits that round-trip, placed as ECMAScript says."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest round-tripping digits, as JavaScript's algorithm does.
    _, digit_tuple, exponent = Decimal(repr(abs(float(value)))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    k = len(digits)
    n = k + exponent  # value = 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def to_precision_15(value: float) -> float:
    """``Number(value.toPrecision(15))``: what ``$string`` writes for a number (0.1 + 0.2 → 0.3)."""
    if value == 0 or not math.isfinite(value):
        return value
    exact = Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - 14), rounding=ROUND_HALF_UP)
    return float(rounded)


# ---------------------------------------------------------------------------------------------
# Values in and out


def _is_array_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) <= _ARRAY_INDEX_LIMIT


def _key_order(mapping: dict[str, Any]) -> list[str]:
    """JavaScript's property order: array indices ascending, then the other keys as inserted."""
    keys = list(mapping)
    indices = [key for key in keys if key[:1].isdigit() and _is_array_index(key)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [key for key in keys if key not in set(indices)]


def _has_index_key(mapping: dict[str, Any]) -> bool:
    for key in mapping:
        if key[:1].isdigit() and _is_array_index(key):
            return True
    return False


def _rebuilt(value: Any, convert: Callable[[Any], Any]) -> Any:
    """``value`` with ``convert`` applied to its members, copied only if one of them changed.

    The bindings of an execution can hold a 256 KB payload that every expression sees: walking it
    is unavoidable, copying it is not. Strings, booleans, nulls and safe integers (most of any
    document) are skipped without a call.
    """
    limit = _SAFE_INTEGER
    is_dict = type(value) is dict
    # a JSONata sequence (a list subclass) always comes out as a plain list
    copied: Any = None if is_dict or type(value) is list else list(value)
    for key, item in value.items() if is_dict else enumerate(value):
        kind = type(item)
        if kind is str or kind is bool or item is None or (kind is int and -limit <= item <= limit):
            continue
        converted = convert(item)
        if converted is not item:
            if copied is None:
                copied = dict(value) if is_dict else list(value)
            copied[key] = converted
    result = value if copied is None else copied
    if is_dict and _has_index_key(result):
        result = {key: result[key] for key in _key_order(result)}
    return result


def to_reference(value: Any) -> Any:
    """A JSON value as ``JSON.parse`` would hand it to the reference: numbers as doubles, keys in JS order."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int or kind is float:
        return _number(value)
    if kind is dict or kind is list:
        return _rebuilt(value, to_reference)
    return value


class _Omitted:
    """A value ``JSON.stringify`` leaves out (a function)."""


_OMITTED = _Omitted()


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if value is Utils.NULL_VALUE:
        return None
    if kind is int or kind is float:
        if kind is float and not math.isfinite(value):
            return None  # JSON.stringify writes NaN and Infinity as null
        number = _number(value)
        if type(number) is float and number.is_integer() and abs(number) < 1e21:
            # JSON.stringify writes 2^60 as 1152921504606847000: the shortest digits, padded with zeros
            return int(number_text(number))
        return number
    if isinstance(value, dict):
        rebuilt = _rebuilt(value, _json_value)
        if any(item is _OMITTED for item in rebuilt.values()):
            rebuilt = {key: item for key, item in rebuilt.items() if item is not _OMITTED}
        return rebuilt
    if isinstance(value, list):
        rebuilt = _rebuilt(value, _json_value)
        return [None if item is _OMITTED else item for item in rebuilt] if _OMITTED in rebuilt else rebuilt
    if Utils.is_function(value):
        return _OMITTED
    return value


def from_reference(value: Any) -> tuple[bool, Any]:
    """A result as the reference's ``JSON.stringify`` leaves it: ``(defined, value)``.

    Numbers are written as JavaScript writes them (integral values below 1e21 as integers, with the
    digits JavaScript prints), functions vanish (from objects; ``null`` in arrays; at the top level
    the result is undefined), JSONata's null becomes ``None``.
    """
    if value is None:
        return False, None
    result = _json_value(value)
    if result is _OMITTED:
        return False, None
    return True, result


# ---------------------------------------------------------------------------------------------
# $string


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _quote(text: str) -> str:
    """``JSON.stringify`` of a string: control characters and lone surrogates escaped, the rest kept."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _ESCAPES.get(char) or f"\\u{ord(char):04x}"

    if _NEEDS_ESCAPE.search(text):
        # surrogate pairs stay pairs: Python holds them as one code point, never as two surrogates
        return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'
    return '"' + text + '"'


def stringify(value: Any, indent: int = 0, _depth: int = 0) -> str:
    """``JSON.stringify(value, replacer, indent)`` with ``$string``'s replacer (numbers to 15 digits)."""
    if value is None or value is Utils.NULL_VALUE:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return "null"
        if math.isinf(number):
            raise jexception.JException("D1001", 0, value)
        return number_text(to_precision_15(number))
    if Utils.is_function(value):
        return '""'
    if isinstance(value, dict):
        items = [(key, value[key]) for key in _key_order(value)]
        parts = [f"{_quote(key)}:{' ' if indent else ''}{stringify(item, indent, _depth + 1)}" for key, item in items]
        return _join(parts, "{", "}", indent, _depth)
    if isinstance(value, list):
        return _join([stringify(item, indent, _depth + 1) for item in value], "[", "]", indent, _depth)
    return _quote(str(value))


def _join(parts: list[str], opening: str, closing: str, indent: int, depth: int) -> str:
    if not parts:
        return opening + closing
    if not indent:
        return opening + ",".join(parts) + closing
    inner = "\n" + " " * (indent * (depth + 1))
    return opening + inner + ("," + inner).join(parts) + "\n" + " " * (indent * depth) + closing


def js_string(arg: Any, prettify: Any = None) -> str | None:
    """``$string(arg, prettify)`` as the reference writes it."""
    if isinstance(arg, Utils.JList) and arg.outer_wrapper:
        arg = arg[0]
    if arg is None:
        return None
    if isinstance(arg, str):
        return arg
    if Utils.is_function(arg):
        return ""
    if isinstance(arg, (int, float)) and not isinstance(arg, bool) and not math.isfinite(arg):
        raise jexception.JException("D3001", 0, arg)
    return stringify(arg, 2 if prettify else 0)


# ---------------------------------------------------------------------------------------------
# $number


_JSONATA_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
# The reference's pattern, precedence slip included: /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/
_JS_RADIX_TEST = re.compile(r"^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)\Z")
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DECIMAL = re.compile(r"[+-]?(Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)")
_JS_RADIX_LITERAL = re.compile(r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+")
_JS_RADIX = {"x": 16, "o": 8, "b": 2}


def _js_to_number(text: str) -> float:
    """JavaScript's ``Number(text)``: NaN for anything that is not a numeric literal."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if _JS_RADIX_LITERAL.fullmatch(text):
        return float(int(text[2:], _JS_RADIX[text[1].lower()]))
    return math.nan


def js_number(arg: Any) -> Any:
    """``$number(arg)`` as the reference casts."""
    if arg is None:
        return None
    if isinstance(arg, bool):
        return 1 if arg else 0
    if isinstance(arg, (int, float)):
        return arg
    if isinstance(arg, str):
        if _JSONATA_NUMBER.fullmatch(arg):
            value = float(arg)
            if math.isfinite(value):
                return Utils.convert_number(value)
        if _JS_RADIX_TEST.search(arg):
            value = _js_to_number(arg)
            return value if math.isnan(value) else Utils.convert_number(value)
    raise jexception.JException("D3030", 0, arg)


def js_power(base: Any, exponent: Any) -> Any:
    """``$power``: a double, and an error for a result JSON cannot hold (as the reference's D3061)."""
    if base is None:
        return None
    try:
        result = math.pow(float(base), float(exponent))
    except (OverflowError, ValueError):
        result = math.nan
    if not math.isfinite(result):
        raise jexception.JException("D3061", 1, base, exponent)
    return Utils.convert_number(result)


def _rounding(direction: Callable[[float], int]) -> Callable[[Any], Any]:
    def rounded(arg: Any) -> Any:
        if arg is None:
            return None
        value = float(arg)
        # Math.floor/Math.ceil pass infinities through; Python's math.floor raises on them.
        return value if not math.isfinite(value) else Utils.convert_number(direction(value))

    return rounded


#: ``$floor`` and ``$ceil``: ``Math.floor``/``Math.ceil``, infinite arguments included.
js_floor = _rounding(math.floor)
js_ceil = _rounding(math.ceil)


def _js_number(text: str) -> float:
    """JavaScript's unary ``+`` on a string of decimal digits: ``NaN`` for what is not a number (``Infinitye-3``)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _shift(value: float, places: int) -> float:
    mantissa, _, exponent = number_text(value).partition("e")
    return _js_number(f"{mantissa}e{int(exponent or 0) + places}")


def js_round(arg: Any, precision: Any = None) -> Any:
    """``$round``: half to even at ``precision`` decimals, as jsonata 2.0.6 does it.

    The reference shifts the decimal point in the number's text (``1.005e2``), rounds the shifted double with
    ``Math.round`` and shifts back the same way; a shift past the largest double gives ``NaN``. jsonata-python
    rounds a ``Decimal`` in the 28-digit default context instead, which refuses ``$round(1e30, 3)``.
    """
    if arg is None:
        return None
    value = float(arg)
    places = int(precision or 0)
    if places:
        value = _shift(value, places)
    result = math.floor(value + 0.5) if math.isfinite(value) else value  # Math.round
    if math.isfinite(result) and abs(result - value) == 0.5 and abs(math.fmod(result, 2)) == 1:
        result -= 1
    if places:
        result = _shift(float(result), -places)
    return result if not math.isfinite(result) else Utils.convert_number(result)


def _not_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def js_type(value: Any) -> Any:
    """``$type`` tests a number as the reference's ``isNumeric`` does: ±Infinity fails (D1001), NaN is an object.

    jsonata-python answers ``'number'`` for both, so a ``$type`` guard that fails on AWS (a depth of
    1e400, read as Infinity) would pass on the engine.
    """
    if _not_finite(value):
        if math.isnan(value):
            return "object"
        raise jexception.JException("D1001", 0, value)
    return _ORIGINALS["type"](value)


def js_to_boolean(arg: Any) -> Any:
    """A value's truth (``$boolean``, ``$not``, ``and``, ``?:``, predicates) as the reference's: ±Infinity fails (D1001), NaN is false."""
    if _not_finite(arg):
        if math.isnan(arg):
            return False
        raise jexception.JException("D1001", 0, arg)
    return _ORIGINALS["to_boolean"](arg)


def js_base64encode(text: Any) -> Any:
    """``$base64encode``: Node's ``Buffer.from(text, 'binary')``: the low byte of every UTF-16 code unit.

    The reference encodes Latin-1, not UTF-8: ``é`` is the byte E9, and a character past U+00FF keeps
    only its low byte.
    """
    if text is None:
        return None
    if text is Utils.NULL_VALUE:
        raise jexception.JException("T0410", -1)
    units = text.encode("utf-16-le", "surrogatepass")
    return base64.b64encode(units[0::2]).decode("ascii")


def js_base64decode(text: Any) -> Any:
    """``$base64decode``: Node's ``Buffer.from(text, 'base64').toString('binary')``: each byte one character."""
    if text is None:
        return None
    if text is Utils.NULL_VALUE:
        raise jexception.JException("T0410", -1)
    alphabet = re.sub(r"[^A-Za-z0-9+/]", "", text.replace("-", "+").replace("_", "/"))
    return base64.b64decode(alphabet + "=" * (-len(alphabet) % 4)).decode("latin-1")


def js_call(m: Callable[..., Any], nargs: int, args: Any) -> Any:
    """``Functions._call``: a built-in's result as JavaScript returns it; an infinite number is not an error.

    jsonata-python checks every numeric result with ``is_numeric``, which raises D1001 on infinity;
    the reference returns ``Infinity`` from ``$ceil(1e308 * 2)`` and fails only where an operator or
    an aggregate is handed it.
    """
    call_args = list(args)
    call_args.extend([None] * (nargs - len(call_args)))
    result = m(*call_args)
    if isinstance(result, float) and math.isinf(result):
        return result
    return Utils.convert_number(result) if Utils.is_numeric(result) else result


# ---------------------------------------------------------------------------------------------
# Strings as UTF-16, lookups through the prototype, operators


def utf16_key(text: str) -> bytes:
    """Orders strings as JavaScript does: by UTF-16 code units (U+FFFF sorts after U+1F600)."""
    return text.encode("utf-16-be", "surrogatepass")


def js_sort(arr: Any, comparator: Any) -> Any:
    """``$sort`` without a comparator orders strings by UTF-16 code units."""
    if comparator is None and arr is not None and len(arr) > 1 and all(isinstance(item, str) for item in arr):
        return sorted(arr, key=utf16_key)
    return _ORIGINALS["sort"](arr, comparator)


class PrototypeMember(Jsonata.JLambda):
    """A method a JavaScript object inherits: it exists and is a function, but not one JSONata may call."""

    def __init__(self, name: str) -> None:
        super().__init__(self._refuse)
        self.name = name

    def _refuse(self, *_args: Any) -> Any:
        raise jexception.JException("T1006", 0)


def js_lookup(input: Any, key: Any) -> Any:  # noqa: A002 - jsonata-python's signature
    """``input[key]`` as JavaScript reads it: an object's own member, else what ``Object.prototype`` has."""
    result = _ORIGINALS["lookup"](input, key)
    if result is None and isinstance(input, dict) and key in PROTOTYPE_MEMBERS and key not in input:
        return {} if key == "__proto__" else PrototypeMember(key)
    return result


def _comparison(original: Callable[..., Any]) -> Callable[..., Any]:
    def evaluate_comparison_expression(self: Any, lhs: Any, rhs: Any, op: Any) -> Any:
        if isinstance(lhs, str) and isinstance(rhs, str):
            lhs, rhs = utf16_key(lhs), utf16_key(rhs)
            return {"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs}[op]
        return original(self, lhs, rhs, op)

    return evaluate_comparison_expression


def _js_arithmetic(a: float, b: float, op: str) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
        return a / b
    return math.fmod(a, b) if b != 0 else math.nan  # "%": the remainder keeps its fraction and sign


def _numeric(original: Callable[..., Any]) -> Callable[..., Any]:
    def evaluate_numeric_expression(self: Any, lhs: Any, rhs: Any, op: Any) -> Any:
        if op not in ("+", "-", "*", "/", "%") or not (Utils.is_numeric(lhs) and Utils.is_numeric(rhs)):
            return original(self, lhs, rhs, op)  # undefined operands, and the type errors
        result = _js_arithmetic(float(lhs), float(rhs), op)
        # Infinity and NaN flow on as in JavaScript: the next operation on them fails (D1001)
        return Utils.convert_number(result) if math.isfinite(result) else result

    return evaluate_numeric_expression


def _is_null(value: Any) -> bool:
    return value is None or value is Utils.NULL_VALUE


def _strictly_equal(a: Any, b: Any) -> bool:
    """JavaScript's ``===`` on JSONata values."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if _is_null(a) or _is_null(b):
        return _is_null(a) and _is_null(b)
    return type(a) is type(b) and a == b


def evaluate_includes_expression(self: Any, lhs: Any, rhs: Any) -> bool:
    """``lhs in rhs`` compares with ``===``: ``true in [1]`` is false, and so is an equal object."""
    if lhs is None or rhs is None:
        return False
    items = rhs if isinstance(rhs, list) else [rhs]
    return any(_strictly_equal(item, lhs) for item in items)


def _signature_symbol(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_symbol(self: Any, value: Any) -> str:
        # JSON null is its own type ("l"), not a missing argument: $lookup(o, null) fails (T0410)
        return "l" if value is Utils.NULL_VALUE else original(self, value)

    return get_symbol


# ---------------------------------------------------------------------------------------------
# Installation

#: Every attribute of jsonata-python that :func:`install` replaces: ``(owner, attribute)``.
PATCHED: tuple[tuple[type, str], ...] = (
    (jsonata_functions.Functions, "string"),
    (jsonata_functions.Functions, "number"),
    (jsonata_functions.Functions, "power"),
    (jsonata_functions.Functions, "floor"),
    (jsonata_functions.Functions, "ceil"),
    (jsonata_functions.Functions, "round"),
    (jsonata_functions.Functions, "_call"),
    (jsonata_functions.Functions, "base64encode"),
    (jsonata_functions.Functions, "base64decode"),
    (jsonata_functions.Functions, "sort"),
    (jsonata_functions.Functions, "lookup"),
    (jsonata_functions.Functions, "type"),
    (jsonata_functions.Functions, "to_boolean"),
    (jsonata_functions.Functions, "match_"),
    (jsonata_functions.Functions, "replace"),
    (jsonata_functions.Functions, "split"),
    (Jsonata, "_regex_closure"),
    (Jsonata, "evaluate_comparison_expression"),
    (Jsonata, "evaluate_numeric_expression"),
    (Jsonata, "evaluate_includes_expression"),
    (jsonata_signature.Signature, "get_symbol"),
)

#: Built-in functions re-bound after their implementation is replaced, with their signatures.
_REBOUND: dict[str, str | tuple[str, str]] = {
    "string": "<x-b?:s>",
    "number": "<(nsb)-:n>",
    "power": "<n-n:n>",
    "floor": "<n-:n>",
    "ceil": "<n-:n>",
    "round": "<n-n?:n>",
    "base64encode": "<s-:s>",
    "base64decode": "<s-:s>",
    "sort": "<af?:a>",
    "lookup": "<x-s:x>",
    "type": "<x:s>",
    "boolean": "<x-:b>",
    "match": ("<s-f<s:o>n?:a<o>>", "match_"),
    "replace": "<s-(sf)(sf)n?:s>",
    "split": "<s-(sf)n?:a<s>>",
}

#: Re-bound built-ins whose implementation has another name than the function.
_IMPLEMENTED_BY = {"boolean": "to_boolean"}

_ORIGINALS: dict[str, Any] = {}
_install_lock = threading.Lock()


def check_version(installed: str) -> None:
    """Refuse a jsonata-python the patches were not written for: its internals may have moved."""
    if installed != JSONATA_PYTHON_VERSION:
        raise UnsupportedJsonataVersionError(
            f"jsonata-python {installed} is installed; the engine's patches are written for "
            f"{JSONATA_PYTHON_VERSION}: install the version pinned in requirements.txt"
        )


def install() -> None:
    """Patch jsonata-python once per process; refuses another jsonata-python version."""
    with _install_lock:
        if _ORIGINALS:
            return
        check_version(version("jsonata-python"))
        functions = jsonata_functions.Functions
        for owner, attribute in PATCHED:
            _ORIGINALS[attribute] = getattr(owner, attribute)
        replacements = {
            "string": js_string,
            "number": js_number,
            "power": js_power,
            "floor": js_floor,
            "ceil": js_ceil,
            "round": js_round,
            "base64encode": js_base64encode,
            "base64decode": js_base64decode,
            "sort": js_sort,
            "lookup": js_lookup,
            "type": js_type,
            "to_boolean": js_to_boolean,
        }
        for name, replacement in replacements.items():
            setattr(functions, name, staticmethod(replacement))
        # regexes: the engine compiles them as JavaScript's RegExp (jsonata_regex.compile_js); these walk their matches
        functions.match_ = staticmethod(jsonata_regex.js_match(_ORIGINALS["match_"]))
        functions.replace = staticmethod(jsonata_regex.js_replace(_ORIGINALS["replace"]))
        functions.split = staticmethod(jsonata_regex.js_split(_ORIGINALS["split"]))
        Jsonata._regex_closure = staticmethod(jsonata_regex.js_regex_closure)
        functions._call = staticmethod(js_call)
        Jsonata.evaluate_comparison_expression = _comparison(_ORIGINALS["evaluate_comparison_expression"])
        Jsonata.evaluate_numeric_expression = _numeric(_ORIGINALS["evaluate_numeric_expression"])
        Jsonata.evaluate_includes_expression = evaluate_includes_expression
        jsonata_signature.Signature.get_symbol = _signature_symbol(_ORIGINALS["get_symbol"])
        for name, rebound in _REBOUND.items():
            signature, implementation = rebound if isinstance(rebound, tuple) else (rebound, _IMPLEMENTED_BY.get(name))
            Jsonata.define_function(name, signature, implementation)
