"""The engine's JSONata against the reference, jsonata 2.0.6 on Node (issue 7, section 3).

Step Functions documents JSONata 2.0.6, the JavaScript implementation; the engine runs
jsonata-python. Every ``{% %}`` expression of the definition the app really deploys (the synthesized
asset with its ``DefinitionSubstitutions`` applied) is evaluated under a corpus of bindings, by
``jsonata_engine.evaluate`` and by the reference (``tests/engine/jsonata_reference.js``, one Node process
for the whole batch), and the answers must be the same value, or both a failure, or a divergence
listed in :data:`DIVERGENCES` with its reason.

The corpus follows the workflow as it changes: for each expression, every path it reads
(``$states.input.depth``, ``$settings.breakSeconds``, ``$item.OpenUntil`` through its alias, ...)
is set in turn to each of :data:`EDGE_VALUES` (missing, odd types, quotes, backslashes, unicode,
integers written as floats, numbers past 2^53, depths 15/16/1.5/-1/"3", huge ``ConsecutiveOpens``,
...) on top of a set of realistic :data:`SCENARIOS`.

``$millis()``, ``$now()``, ``$uuid()`` and ``$random()`` are nondeterministic: both sides get the same
constants for them (:data:`FIXED`), and ``test_jsonata_engine.py`` checks the engine's own.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from jsonata import Jsonata

from circuit_breaker.aws.definition import jsonata_literal_text
from circuit_breaker.local import jsonata_js
from circuit_breaker.local.jsonata_engine import QueryEvaluationError, evaluate
from circuit_breaker.local.patches import substitute_definition

PROJECT_DIR = Path(__file__).resolve().parents[2]
REFERENCE_SCRIPT = Path(__file__).resolve().parent / "jsonata_reference.js"
ACCOUNT, REGION = "123456789012", "us-east-1"

CLOCK_MS = 1_700_000_000_123
NOW = CLOCK_MS // 1000
#: Constants both implementations use for the nondeterministic functions.
FIXED = {"millis": CLOCK_MS, "now": "2023-11-14T22:13:20.123Z", "uuid": "0b8e2f7c-3f1d-4c8e-9a57-4f0d2b1c6e3a", "random": 0.25}

_MISSING = object()

#: Values every path an expression reads takes in turn (label, value); _MISSING removes the path.
EDGE_VALUES: list[tuple[str, Any]] = [
    ("missing", _MISSING),
    ("null", None),
    ("true", True),
    ("false", False),
    ("zero", 0),
    ("minus one", -1),
    ("fifteen", 15),
    ("sixteen", 16),
    ("sixteen as float", 16.0),
    ("one and a half", 1.5),
    ("minus zero", -0.0),
    ("2^53 + 1", 2**53 + 1),
    ("10^30 integer", 10**30),
    ("10^400 integer", 10**400),  # JSON.parse reads it as Infinity, as it reads 1e400
    ("minus 10^400 integer", -(10**400)),
    ("1e21", 1e21),
    ("1e308", 1e308),
    ("0.1", 0.1),
    ("1020 opens", 1020),
    ("5000 opens", 5000),
    ("empty string", ""),
    ("three as string", "3"),
    ("N string", "1700000000"),
    ("N string as float", "1.7e9"),
    ("N string 16.0", "16.0"),
    ("N string padded", " 12 "),
    ("N string plus", "+5"),
    ("N string minus zero", "-0"),
    ("N string 1e400", "1e400"),
    ("N string past 2^53", "9007199254740993"),
    ("N string hex", "0x10"),
    ("N string 1020", "1020"),
    ("N string 1e20", "1e20"),
    ("not a number", "abc"),
    ("status OPEN", "OPEN"),
    ("quotes and backslashes", 'a "quoted" \\ back\\slash \\u0041 \' single'),
    ("unicode", "caf\u00e9 \u00fc \u4e2d \U0001f600 \u2028"),
    ("lone surrogate", "x\ud800y"),
    ("control characters", "tab\there\nnewline\x01"),
    ("trailing newline", "key-1\n"),  # JavaScript's $ does not match before it (Python's does)
    ("prototype name", "constructor"),
    ("proto", "__proto__"),
    ("long string", "\u00e9" * 700 + "\U0001f600" * 400),
    ("empty array", []),
    ("array", [1, "two", None, {"three": 3.0}]),
    ("empty object", {}),
    ("N attribute", {"N": "42"}),
    ("object", {"a": {"b": [1.0, "\u00e9"]}, "9": "index key", "1": True}),
]

def _item(**attributes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"ServiceName": {"S": "echo"}}
    for name, value in attributes.items():
        item[name] = {"N": value} if name not in ("CircuitStatus", "Reason", "LastError") else {"S": value}
    return item


#: The workflow's variables in an ordinary execution; an expression's own paths vary on top of it.
BASE: dict[str, Any] = {
    "states": {
        "input": {"callee": "echo", "payload": {"order": 42, "note": "caf\u00e9"}, "depth": 0},
        "result": {"Item": _item(CircuitStatus="OPEN", OpenUntil=str(NOW + 30), ExpiryTimeStamp=str(NOW + 330), ConsecutiveOpens="1")},
        "errorOutput": {"Error": "Lambda.Unknown", "Cause": '{"errorMessage": "boom \\"quoted\\"", "errorType": "Error"}'},
        "context": {
            "Execution": {
                "Id": f"arn:aws:states:{REGION}:{ACCOUNT}:express:CircuitBreaker:run-1:7f1c",
                "Name": "run-1",
                "StartTime": "2023-11-14T22:13:20.000Z",
                "Input": {"callee": "echo"},
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/breaker",
            },
            "State": {"Name": "Check input", "EnteredTime": "2023-11-14T22:13:20.100Z", "RetryCount": 0},
            "StateMachine": {"Id": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:CircuitBreaker", "Name": "CircuitBreaker"},
        },
    },
    "callee": "echo",
    "payload": {"order": 42},
    "depth": 0,
    "settings": {},  # the deployed registry's first callee: see base_bindings
    "problem": "callee must be a non-empty string naming a registered callee, got 3",
    "storeError": {"Error": "DynamoDB.AmazonDynamoDBException", "Cause": "Rate exceeded (Service: DynamoDb, Status Code: 400, Error Code: ThrottlingException)"},
    "circuit": {"status": "OPEN", "openUntil": NOW + 30, "probeLeaseUntil": 0, "reason": None, "expiresAt": NOW + 330},
    "shortCircuit": {"state": "OPEN", "retryAfter": NOW + 30},
    "calleeError": {"Error": "Error", "Cause": '{"errorMessage": "boom", "errorType": "Error", "stackTrace": ["  File \\"/var/task/index.py\\""]}'},
    "failures": 3,
    "openUntil": NOW + 30,
    "opens": 1,
    "lease": NOW + 15,
    "leaseTakenAt": NOW,
    "result": {"ok": True, "value": 1.5},
    "circuitOpened": False,
    "recounted": False,
    "calling": 1,
    "calleeFailed": 1,
    "shortCircuited": 1,
    "opened": 1,
}

#: Realistic states of an execution (changes to BASE), each applied to every expression.
SCENARIOS: list[tuple[str, dict[tuple[str, ...], Any]]] = [
    ("ordinary", {}),
    ("no item", {("states", "result"): {}}),
    ("closed item", {("states", "result"): {"Item": _item(CircuitStatus="CLOSED", Failures="2", WindowEndsAt=str(NOW + 40), ExpiryTimeStamp=str(NOW + 40))}}),
    ("open, break over", {("states", "result"): {"Item": _item(CircuitStatus="OPEN", OpenUntil=str(NOW - 1), ExpiryTimeStamp=str(NOW + 299))}}),
    ("half open", {("states", "result"): {"Item": _item(CircuitStatus="HALF_OPEN", ProbeLeaseUntil=str(NOW + 5), ExpiryTimeStamp=str(NOW + 305), ConsecutiveOpens="3")}}),
    ("isolated", {("states", "result"): {"Item": _item(CircuitStatus="ISOLATED", Reason="maintenance \u00e9 \"window\"", ExpiryTimeStamp=str(NOW + 86400))}}),
    ("expired item", {("states", "result"): {"Item": _item(CircuitStatus="OPEN", OpenUntil=str(NOW + 30), ExpiryTimeStamp=str(NOW - 10))}}),
    ("malformed item", {("states", "result"): {"Item": {"ServiceName": {"S": "echo"}, "CircuitStatus": {"N": "1"}, "OpenUntil": {"S": "soon"}, "ExpiryTimeStamp": {"S": "x"}}}}),
    ("update result", {("states", "result"): {"Attributes": {"Failures": {"N": "3"}, "ProbeLeaseUntil": {"N": str(NOW + 15)}, "ConsecutiveOpens": {"N": "1020"}}}}),
    ("lambda result", {("states", "result"): {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": {"ok": True, "n": 16.0, "big": 2**53 + 1, "s": "\u00e9\U0001f600"}}}),
    ("unknown callee", {("states", "input"): {"callee": "nope"}, ("callee",): "nope"}),
    ("prototype callee", {("states", "input"): {"callee": "constructor", "depth": 1}, ("callee",): "constructor"}),
    ("deep call chain", {("states", "input"): {"callee": "echo", "depth": 16}, ("depth",): 16}),
    ("not an object", {("states", "input"): ["callee", "echo"]}),
    ("failing probe, many opens", {("opens",): 1100, ("settings", "maxBreakSeconds"): 300}),
    ("fail closed", {("settings", "onStoreError"): "fail"}),
    ("timeout error", {("states", "errorOutput"): {"Error": "States.Timeout", "Cause": ""}, ("calleeError",): {"Error": "States.Timeout"}}),
]

#: Where the engine and the reference are allowed to differ: expression text (or a part of it) → reason.
#: Each must still differ (test_listed_divergences_still_diverge), so the list cannot go stale.
DIVERGENCES: dict[str, str] = {
    "$split('a\U0001f600b', '')": (
        "splitting into characters: the reference splits UTF-16 code units (a lone surrogate each), "
        "the engine code points; no workflow expression splits on ''"
    ),
    "$lookup({'a': 1}, 'toString')()": (
        "calling a prototype member: the reference calls Object.prototype.toString, the engine fails "
        "(T1006); only existence and type of prototype members are mirrored"
    ),
    "$match('ab', /(?:(a)|b)+/)": (
        "a group inside a repeated group: JavaScript resets its capture on each repetition (null here), "
        "Python's re keeps the last one ('a'); no workflow regex has groups"
    ),
    "$contains('1', /(?<=[0-9]+)/)": (
        "a lookbehind of varying length: JavaScript runs it, Python's re refuses it (the engine fails the "
        "expression); no workflow regex looks behind"
    ),
    "$keys({'b': 1, '1': 2})": (
        "key order of an object built by the expression: the reference puts array-index keys first, "
        "the engine keeps insertion order (parsed and bound objects, results and $string do follow the reference)"
    ),
}

#: Expressions outside the workflow for the behaviours the engine had to fix (and a few it had right).
PROBES: list[str] = [
    # $string as JSON.stringify: non-ASCII kept, numbers to 15 digits, JavaScript's number text
    "$string({'a': 'caf\u00e9', 'b': '\U0001f600', 'c': '\u2028'})",
    "$string({'depth': $parse('16.0'), 'n': 16.0})",
    "$string({'x': 0.1 + 0.2, 'y': 1e21, 'z': 1e-7, 'w': 123456789012345678})",
    "$string([1000000000000005, 1e16, -0, 0.000001, 1.5e300, 2e-300])",
    "$string(123456789012345678)",
    "$string({'s': $parse('\"x\\\\ud800y\"')})",
    "$string({'q': 'a\"b\\\\c\\u0001'}, true)",
    "$string({'b': 1, '10': 2, '2': 3})",
    "$string($states)",
    "'n=' & 1e21 & ',' & 0.1 * 3 & ',' & 1/3",
    # numbers as doubles, written as JSON.stringify writes them
    "1e21", "$power(2, 60)", "$power(2, 53) + 1", "9007199254740993", "$parse('12345678901234567890')",
    "$floor(123456789012345678901234)", "$ceil(1e20 + 0.5)", "$floor(-0.5)", "$round(2.5)", "$round(-2.5)",
    "$parse('-0')", "$parse('1.0')", "$parse('[1e400]')", "$parse('NaN')",
    "5.5 % 2", "-5.5 % 2", "5 % 0", "1/0", "-1/0", "1e308 * 10", "(1/0) + 1", "$string(1/0)",
    # Infinity and NaN where JSONata tests a number (isNumeric): $type and truth fail on Infinity, NaN is an object
    "$type(1/0)", "$type(0/0)", "$boolean(1e308 * 10)", "$boolean(0/0)", "$not(-1/0)", "1/0 ? 1 : 2", "(1/0) in [1e308 * 10]",
    # $power: the reference fails on a result JSON cannot hold
    "$power(2, 1023)", "$power(2, 1024)", "$power(2, 1100)", "$power(-8, 1/3)", "$power(0, -1)",
    # $number
    "$number('16.0')", "$number(' 12 ')", "$number('+5')", "$number('.5')", "$number('5.')", "$number('1_000')",
    "$number('1e400')", "$number('0x10')", "$number('0X1f')", "$number('0b101')", "$number('0o17')",
    "$number('0x1g')", "$number('-0x10')", "$number('a0o7')", "$number('1e3')", "$number('-0')",
    "$number('Infinity')", "$number('')", "$number(null)", "$number(true)",
    # strings: code points for $length/$substring, UTF-16 code units for comparisons and $sort
    "$length('\U0001f600\u00e9')", "$substring('a\U0001f600b', 1, 1)", "$substring('a\U0001f600b\U0001f600', -2)",
    "$substring('\u00e9' & 'x', 0, 1024)", "'\uffff' < '\U0001f600'", "'\U0001f600' > 'z'", "'a' < 'b'", "'B' < 'a'",
    "$sort(['\uffff', '\U0001f600', 'b', 'a'])", "$uppercase('stra\u00dfe')",
    # in compares with ===; = compares deeply
    "true in [1]", "1 in [true]", "{'a': 1} in [{'a': 1}]", "null in [null]", "1 in [1.0]", "'1' in [1]",
    "[1, {'a': 2}] = [1.0, {'a': 2.0}]", "1 = true",
    # $lookup and paths read what a JavaScript object inherits
    *[f"[$exists($lookup({{'a': 1}}, '{name}')), $type($lookup({{'a': 1}}, '{name}'))]" for name in sorted(jsonata_js.PROTOTYPE_MEMBERS)],
    "$lookup({'a': 1}, '__proto__')", "{'a': 1}.constructor ? 'inherited' : 'own only'", "$lookup({'a': 1}, 'prototype')",
    "$lookup({'constructor': 5}, 'constructor')", "$exists($lookup($parse('{\"echo\": {}}'), 'hasOwnProperty'))",
    "'constructor' in $keys($parse('{\"echo\": {}}'))", "$lookup({'a': 1}, 'toString')", "{'f': $lookup({}, 'valueOf')}",
    # regexes as JavaScript's RegExp: $ only at the very end; ".", \s, \w, \d and \b as JavaScript has them;
    # UTF-16 code units, Canonicalize for /i, Annex B escapes, what JavaScript refuses; how the functions walk matches
    "$contains('key-1\\n', /^[A-Za-z0-9_.:-]{1,128}$/)", "$contains('key-1', /^[A-Za-z0-9_.:-]{1,128}$/)",
    "$match('a\\rb\\u2028c\\nd', /^\\w$/m)", "$match('x\\r\\ny', /$/m)", "$match('a\\rb', /a.b/)", "$match('a\\u2028b', /a.b/)",
    "$contains('a\\u00a0b', /a\\sb/)", "$contains('a\\ufeffb', /a\\sb/)", "$contains('a\\u0085b', /a\\sb/)",
    "$match('caf\u00e9 1', /\\b\\w+/)", "$match('\u0661\u06623', /\\d+/)", "$match('a b', /\\B/)",
    "$match('a\U0001f600b', /./)", "$match('\U0001f600x\U0001f600', /\U0001f600/)", "$match('\U0001f600', /[\U0001f600]/)",
    "$contains('\u017f', /s/i)", "$contains('\u212a', /k/i)", "$contains('\u0131', /I/i)", "$contains('\u00df', /SS/i)",
    "$match('ABC', /[a-b]+/i)", "$contains('A', /[^a]/i)", "$match('\u01c5', /\u01c6/i)",
    "$contains('Z', /\\Z/)", "$contains('k', /\\k/)", "$contains('8', /\\8/)", "$contains('\\u0001', /\\cA/)", "$contains('\\\\c', /\\c/)",
    "$contains('\\u0011', /[\\c1]/)", "$contains('\\u0009', /\\11/)", "$contains('a\\u0001', /a\\1/)", "$contains('\\u00018', /\\18/)",
    "$contains('x', /[^]/)", "$contains('x', /[]/)", "$match('a{,2}', /a{,2}/)", "$contains('uu', /\\u{2}/)", "$match('a-z', /[\\d-z]+/)",
    "$contains('b', /(a)|\\1b/)", "$contains('xx', /(x)\\1/)", "$match('aXa', /a(?<m>X)a/)", "$contains('k<n>', /\\k<n>/)",
    "$contains('x', /(?P<n>x)/)", "$contains('aa', /a*+/)", "$contains('x', /(?i)x/)", "$contains('x', /[z-a]/)", "$contains('x', /^*/)",
    "$contains('x', /x{1}{2}/)", "$contains('x', /(?<a>x)(?<a>y)/)", "$contains('x', /(?<n>x)\\k/)", "$contains('ab', /(?=a)*ab/)",
    "$match('abc', /x*/)", "$match('aa', /a*/)", "$match('aab', /a*/)", "$match('aab', /a*/, 1)", "$split('abc', /x*/)",
    "$split('a1b2c', /([0-9])/)", "$split('a,b,c,d', /,/, 2)", "$replace('ab', /a/, 'ba', 2)", "$replace('aab', /a*/, 'x', 1)",
    "$replace('a', /a/, '\\\\n')", "$replace('abcdefghijk', /(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/, '$11-$12-$1-$0-$$-$x-$')",
    "$replace('ab', /(a)/, '[$2][$10][$01]')", "$replace('abc', /b/, function($m) {$string($m)})", "$string(/(b)(x)?/('abc'))",
    "/b/('abc')", "($m := /b/('abcb'); $n := $m.next; $n())", "$replace('abc', /b/, function($m) {$keys($m)})",
    # Step Functions' functions
    "$range(1, 9, 9)", "$range(0, 9, 3)", "$range(5, 1, 1)", "$range(0, 2000, 1)", "$partition([0], 1)",
    "$partition([1, 2, 3], 2)", "$partition([1], 0)", "$partition('x', 1)", "$hash('caf\u00e9', 'SHA-256')",
    "$hash('x', 'SHA-3')", "$parse('{\"a\": [1, null]}')", "$parse('{bad')", "$eval('1')",
    # fixed clock and dice
    "$millis()", "$floor($millis() / 1000)", "$uuid()", "$random()",
    *DIVERGENCES,
]


# ---------------------------------------------------------------------------------------------
# The definition the app deploys


def _render(value: Any, resources: dict[str, Any]) -> Any:
    """Resolve the intrinsic functions CloudFormation would resolve in ``DefinitionSubstitutions``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_render(item, resources) for item in value]
    (function, argument), = value.items()
    if function == "Ref":
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        if argument in pseudo:
            return pseudo[argument]
        properties = resources[argument].get("Properties", {})
        return next((properties[p] for p in ("TableName", "FunctionName", "Name") if isinstance(properties.get(p), str)), f"{argument}-local")
    if function == "Fn::GetAtt":
        logical, attribute = argument
        service = resources[logical]["Type"].split("::")[1].lower()
        kind = {"lambda": "function:"}.get(service, "resource/")
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}{logical}" if attribute == "Arn" else f"{logical}-{attribute}"
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(_render(part, resources) for part in parts)
    if function == "Fn::Sub" and isinstance(argument, str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: _render({"Ref": m.group(1)}, resources), argument)
    raise AssertionError(f"DefinitionSubstitutions uses {function}, which this test cannot render yet: add it to _render")


@pytest.fixture(scope="module")
def definition(assembly: Path, template: dict[str, Any]) -> dict[str, Any]:
    """The state machine definition as CloudFormation hands it to Step Functions."""
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == 1
    properties = machines[0]["Properties"]
    text = (assembly / f"asset.{properties['DefinitionS3Location']['Key']}").read_text()
    substitutions = {key: _render(value, template["Resources"]) for key, value in properties["DefinitionSubstitutions"].items()}
    return json.loads(substitute_definition(text, substitutions))


def jsonata_fields(value: Any, location: str = "") -> Iterator[tuple[str, str]]:
    """Every ``{% %}`` field of a definition, with where it is (``States/Get circuit/Assign/circuit``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from jsonata_fields(item, f"{location}/{key}" if location else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from jsonata_fields(item, f"{location}/{index}")
    elif isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        yield location, value[2:-2].strip()


# ---------------------------------------------------------------------------------------------
# The corpus

_READ = re.compile(r"\$([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)(?![\w(])(?!\s*\()")
_ALIAS = re.compile(r"\$([A-Za-z_]\w*)\s*:=\s*\$([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?![\w(])")
_LOCAL = re.compile(r"\$([A-Za-z_]\w*)\s*:=")
_PARAMETERS = re.compile(r"function\s*\(([^)]*)\)")


def paths_read(expression: str) -> list[tuple[str, ...]]:
    """The binding paths an expression reads, aliases (``$item := $states.result.Item``) resolved."""
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", expression)  # no paths inside string literals
    aliases = {name: tuple(path.split(".")) for name, path in _ALIAS.findall(text)}
    locals_ = set(_LOCAL.findall(text)) | {p.strip().lstrip("$") for group in _PARAMETERS.findall(text) for p in group.split(",") if p.strip()}
    paths: set[tuple[str, ...]] = set()
    for name, rest in _READ.findall(text):
        tail = tuple(rest.split(".")[1:]) if rest else ()
        seen: set[str] = set()
        while name in aliases and name not in seen:  # $expiry := $item.ExpiryTimeStamp.N, $item := $states.result.Item
            seen.add(name)
            head = aliases[name]
            name, tail = head[0], head[1:] + tail
        if name in locals_ and name not in aliases or name in FIXED:
            continue
        if name == "states" and not tail:
            continue
        paths.add((name, *tail))
    return sorted(paths)


def _with(bindings: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``bindings`` with ``path`` set to ``value`` (or removed), copying only the objects on the path."""
    changed = dict(bindings)
    parent = changed
    for key in path[:-1]:
        parent[key] = dict(parent[key]) if isinstance(parent.get(key), dict) else {}
        parent = parent[key]
    if value is _MISSING:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return changed


_PARSED_LITERAL = re.compile(r"\$parse\('((?:[^'\\]|\\.)*)'\)")


def base_bindings(expressions: list[str]) -> dict[str, Any]:
    """BASE with ``$settings`` taken from the registry the definition carries (``$parse('{...}')``)."""
    for expression in expressions:
        for literal in _PARSED_LITERAL.findall(expression):
            registry = json.loads(jsonata_literal_text(literal))
            if isinstance(registry, dict) and registry and all(isinstance(entry, dict) for entry in registry.values()):
                return {**BASE, "settings": next(iter(registry.values()))}
    return BASE


def corpus(expression: str, base: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, bindings) for one expression: every scenario, then every edge value on every path it reads."""
    for label, changes in SCENARIOS:
        bindings = base
        for path, value in changes.items():
            bindings = _with(bindings, path, value)
        yield f"scenario {label}", bindings
    for path in paths_read(expression):
        for label, value in EDGE_VALUES:
            yield f"${'.'.join(path)} = {label}", _with(base, path, value)


# ---------------------------------------------------------------------------------------------
# Both implementations


@dataclass
class Answer:
    ok: bool
    defined: bool = False
    value: Any = None
    message: str = ""

    def show(self) -> str:
        if not self.ok:
            return f"fails: {self.message}"
        return json.dumps(self.value, ensure_ascii=False) if self.defined else "undefined"


def engine_answer(expression: str, bindings: dict[str, Any]) -> Answer:
    fixed = {name: Jsonata.JLambda(lambda value=value: value) for name, value in FIXED.items()}
    try:
        defined, value = evaluate(expression, {**bindings, **fixed})
    except QueryEvaluationError as error:
        return Answer(ok=False, message=str(error))
    return Answer(ok=True, defined=defined, value=value)


def _node() -> str:
    found = shutil.which("node", path=os.pathsep.join([str(PROJECT_DIR / ".venv" / "bin"), os.environ.get("PATH", "")]))
    if not found or not (PROJECT_DIR / "node_modules" / "jsonata" / "package.json").exists():
        pytest.fail("the reference JSONata needs Node and node_modules/jsonata: run `make install`")
    return found


def _reference_process(requests: list[tuple[str, dict[str, Any]]]) -> Callable[[], list[Answer]]:
    """Start the reference on all requests in one Node process; call the result to collect its answers.

    One process for the batch (starting Node per expression would cost seconds), running while the
    engine answers the same requests.
    """
    lines = "".join(json.dumps({"expression": e, "bindings": b, "fixed": FIXED}) + "\n" for e, b in requests)
    process = subprocess.Popen(
        [_node(), str(REFERENCE_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", cwd=PROJECT_DIR,
    )
    pool = concurrent.futures.ThreadPoolExecutor(1)
    output = pool.submit(process.communicate, lines, 300)
    pool.shutdown(wait=False)

    def answers() -> list[Answer]:
        stdout, stderr = output.result()
        assert process.returncode == 0, stderr
        replies = [json.loads(line) for line in stdout.split("\n") if line]  # not splitlines(): U+2028 is no line end
        assert len(replies) == len(requests), stderr
        return [_answer(reply) for reply in replies]

    return answers


def _answer(reply: dict[str, Any]) -> Answer:
    if not reply["ok"]:
        return Answer(ok=False, message=f"{reply['code']}: {reply['message']}")
    if "json" in reply:
        return Answer(ok=True, defined=True, value=json.loads(reply["json"]))
    return Answer(ok=True, defined=False)  # undefined, or a function (JSON.stringify leaves it undefined)


def reference_answers(requests: list[tuple[str, dict[str, Any]]]) -> list[Answer]:
    """The reference's answers to ``(expression, bindings)`` requests."""
    return _reference_process(requests)()


def same_json(a: Any, b: Any) -> bool:
    """Equal JSON values, types included (``16`` is not ``16.0``) and keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def agree(engine: Answer, reference: Answer) -> bool:
    if not engine.ok or not reference.ok:
        return engine.ok == reference.ok  # both fail: messages are not compared
    return engine.defined == reference.defined and (not engine.defined or same_json(engine.value, reference.value))


@dataclass
class Comparison:
    """Every (expression, bindings) pair, answered by both implementations."""

    cases: list[tuple[str, str, str, Answer, Answer]] = field(default_factory=list)  # (source, label, expression, engine, reference)
    seconds: float = 0.0

    def disagreements(self, source: str) -> list[str]:
        return [
            f"{label}: {expression}\n    engine:    {e.show()[:300]}\n    reference: {r.show()[:300]}"
            for s, label, expression, e, r in self.cases
            if s == source and not agree(e, r) and not any(listed in expression for listed in DIVERGENCES)
        ]


@pytest.fixture(scope="module")
def comparison(definition: dict[str, Any]) -> Comparison:
    started = time.monotonic()
    requests: list[tuple[str, str, str, dict[str, Any]]] = []
    expressions = sorted({expression for _, expression in jsonata_fields(definition)})
    base = base_bindings(expressions)
    assert base["settings"], "the definition's registry ($parse('{...}')) should give $settings its values"
    for expression in expressions:
        for label, bindings in corpus(expression, base):
            requests.append(("workflow", label, expression, bindings))
    for probe in PROBES:
        requests.append(("probe", "probe", probe, base))
    references = _reference_process([(expression, bindings) for _, _, expression, bindings in requests])
    engine = [engine_answer(expression, bindings) for _, _, expression, bindings in requests]
    result = Comparison()
    for (source, label, expression, _), mine, theirs in zip(requests, engine, references()):
        result.cases.append((source, label, expression, mine, theirs))
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------
# The checks


def test_every_workflow_expression_answers_as_the_reference(comparison: Comparison) -> None:
    workflow = [case for case in comparison.cases if case[0] == "workflow"]
    expressions = {case[2] for case in workflow}
    print(f"\njsonata differential: {len(expressions)} expressions x bindings = {len(workflow)} workflow cases, "
          f"{len(comparison.cases) - len(workflow)} probes, {comparison.seconds:.1f} s")
    problems = comparison.disagreements("workflow")
    assert not problems, f"{len(problems)} of {len(workflow)} cases differ:\n" + "\n".join(problems[:25])


def test_probes_answer_as_the_reference(comparison: Comparison) -> None:
    problems = comparison.disagreements("probe")
    assert not problems, "\n".join(problems)


def test_listed_divergences_still_diverge(comparison: Comparison) -> None:
    """A listed divergence that the engine no longer has must leave the list (and its reason)."""
    by_expression = {expression: (e, r) for _, _, expression, e, r in comparison.cases}
    for listed in DIVERGENCES:
        engine, reference = by_expression[listed]
        assert not agree(engine, reference), f"{listed!r} now answers as the reference: remove it from DIVERGENCES"


def test_the_corpus_reaches_every_expression_and_the_edges(definition: dict[str, Any], comparison: Comparison) -> None:
    fields = list(jsonata_fields(definition))
    assert len(fields) > 20, "the definition should hold the workflow's JSONata"
    assert any("$states.input" in expression for _, expression in fields)
    workflow = [case for case in comparison.cases if case[0] == "workflow"]
    assert {case[2] for case in workflow} == {expression for _, expression in fields}
    labels = {case[1] for case in workflow}
    for path in ("$states.input.depth", "$states.input.callee", "$states.result.Item.ConsecutiveOpens", "$opens"):
        for edge in ("missing", "sixteen as float", "2^53 + 1", "unicode", "quotes and backslashes"):
            assert f"{path} = {edge}" in labels, f"{path} is not exercised with {edge}"
    # both sides really evaluated: some cases fail, most produce values, and not all the same value
    answers = [case[4] for case in workflow]
    assert any(not a.ok for a in answers) and sum(a.ok and a.defined for a in answers) > len(answers) / 2


@pytest.mark.parametrize("depth", [10**400, -(10**400)], ids=["Infinity", "-Infinity"])
def test_check_input_refuses_an_infinite_depth_under_the_reference(definition: dict[str, Any], depth: int) -> None:
    """Check input's rules, in order, as the reference and the engine evaluate them for a depth JSON.parse reads as ±Infinity.

    Any JSONata operation that tests a number (``$type``, ``$not``, arithmetic) fails on Infinity (D1001):
    the rules must reach Reject input with a message, not a query error.
    """
    choices = definition["States"]["Check input"]["Choices"]
    bindings = {"states": {"input": {"callee": "echo", "depth": depth}}}
    conditions = [(rule["Condition"][2:-2].strip(), bindings) for rule in choices]
    for side, answers in (("reference", reference_answers(conditions)), ("engine", [engine_answer(*c) for c in conditions])):
        assert all(a.ok for a in answers), f"{side}: " + "; ".join(a.show() for a in answers if not a.ok)
        matched = next(index for index, answer in enumerate(answers) if answer.defined and answer.value is True)
        rule = choices[matched]
        assert rule["Next"] == "Reject input", f"{side}: rule {matched} matched"
        problem = rule["Assign"]["problem"][2:-2].strip()
        message = (reference_answers([(problem, bindings)])[0] if side == "reference" else engine_answer(problem, bindings))
        assert message.ok and message.defined, f"{side}: {message.show()}"
        assert message.value.startswith("depth must be a whole number") and "a number out of range" in message.value


def test_paths_read_resolves_aliases_and_skips_locals() -> None:
    expression = "($item := $states.result.Item; $num := function($attribute) { $attribute.N }; $expiry := $item.ExpiryTimeStamp.N; $num($item.OpenUntil) + $number($expiry) + $settings.breakSeconds + $millis() + $x)"
    assert paths_read(expression) == [
        ("settings", "breakSeconds"),
        ("states", "result", "Item"),
        ("states", "result", "Item", "ExpiryTimeStamp", "N"),
        ("states", "result", "Item", "OpenUntil"),
        ("x",),
    ]
