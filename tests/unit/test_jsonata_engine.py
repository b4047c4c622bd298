"""JSONata as Step Functions evaluates it (jsonata-python plus the Step Functions functions)."""

from __future__ import annotations

import pytest

from circuit_breaker.local.jsonata_engine import QueryEvaluationError, evaluate


def test_bindings_are_values_not_text() -> None:
    tricky = 'a "quoted" \\ string; $x := 1'
    assert evaluate("$v", {"v": tricky}) == (True, tricky)
    assert evaluate("$states.input.a", {"states": {"input": {"a": [1, None]}}}) == (True, [1, None])


def test_undefined_and_null_are_told_apart() -> None:
    assert evaluate("$nothing", {}) == (False, None)
    assert evaluate("null", {}) == (True, None)
    assert evaluate("$v", {"v": None}) == (True, None)
    assert evaluate("$exists($v)", {"v": None}) == (True, True)


def test_comparisons_with_undefined_are_false_as_in_jsonata() -> None:
    # why the ASL writes $not($type(x) = 'string') rather than $type(x) != 'string'
    assert evaluate("$type($missing) != 'string'", {}) == (True, False)
    assert evaluate("$not($type($missing) = 'string')", {}) == (True, True)


def test_step_functions_functions() -> None:
    assert evaluate("$partition([1,2,3], 2)", {}) == (True, [[1, 2], [3]])
    assert evaluate("$range(10, 0, -5)", {}) == (True, [10, 5, 0])
    assert evaluate("$hash('x', 'MD5')", {})[1] == "9dd4e461268c8034f5c8564e155c67a6"
    assert evaluate("$parse('[1, {\"b\": null}]')", {}) == (True, [1, {"b": None}])
    assert evaluate("$random(3) = $random(3)", {}) == (True, True)
    assert 0 <= evaluate("$random()", {})[1] < 1


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("$eval('1')", "$eval is not supported"),
        ("$number('abc')", "abc"),
        ("null > 3", "must evaluate to numeric or string"),
        ("$parse('{bad')", "could not read its argument as JSON"),
        ("$hash('x', 'SHA-3')", "$hash supports"),
        ("$partition([1], 0)", "chunk size must be 1 or more"),
        ("(", ""),
    ],
)
def test_failures_are_query_evaluation_errors(expression: str, says: str) -> None:
    with pytest.raises(QueryEvaluationError, match=None) as raised:
        evaluate(expression, {})
    assert says in str(raised.value)


def test_millis_is_fresh_in_every_evaluation() -> None:
    first = evaluate("$millis()", {})[1]
    import time

    time.sleep(0.01)
    assert evaluate("$millis()", {})[1] > first


def test_concurrent_evaluations_of_one_expression_keep_their_own_bindings() -> None:
    import concurrent.futures

    expression = "{'n': $n, 'doubled': $n * 2, 'later': $millis() >= $started}"

    def run(n: int) -> dict:
        return evaluate(expression, {"n": n, "started": 0})[1]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(200)))
    assert results == [{"n": n, "doubled": n * 2, "later": True} for n in range(200)]


# The reference is the JavaScript jsonata 2.0.6 that Step Functions runs; every expected value below is
# what it answers (tests/engine/test_jsonata_differential.py asks it directly).


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$string({'a': 'caf\u00e9', 'b': '\U0001f600', 'c': '\u2028'})", '{"a":"caf\u00e9","b":"\U0001f600","c":"\u2028"}'),
        ("$string({'depth': $v})", '{"depth":16}'),
        ("$string({'x': 0.1 + 0.2, 'y': 1e21, 'z': 1e-7})", '{"x":0.3,"y":1e+21,"z":1e-7}'),
        ("$string(123456789012345678)", "123456789012346000"),
        ("$string([1000000000000005, 1e16, -0, 0.000001])", "[1000000000000010,10000000000000000,0,0.000001]"),
        ("$string({'s': $parse('\"x\\\\ud800y\"')})", '{"s":"x\\ud800y"}'),
        ("$string({'q': 'a\"b\\\\c'}, true)", '{\n  "q": "a\\"b\\\\c"\n}'),
        ("$string({'b': 1, '10': 2, '2': 3})", '{"2":3,"10":2,"b":1}'),
        ("'n=' & 0.1 * 3", "n=0.3"),
    ],
)
def test_string_writes_json_as_the_reference(expression: str, expected: str) -> None:
    assert evaluate(expression, {"v": 16.0}) == (True, expected)


def test_numbers_are_doubles_in_and_out() -> None:
    # JSON.parse reads 16.0 as 16 and 2^53 + 1 as 2^53; JSON.stringify writes 2^60 as 1152921504606847000
    depth = evaluate("$states.input.depth", {"states": {"input": {"depth": 16.0}}})
    assert depth == (True, 16) and type(depth[1]) is int
    assert evaluate("$v", {"v": 2**53 + 1}) == (True, 2**53)
    assert evaluate("$v = $v + 1", {"v": 2**53 + 1}) == (True, True)
    assert evaluate("$power(2, 60)", {}) == (True, 1152921504606847000)
    assert evaluate("1e21", {})[1] == 1e21 and type(evaluate("1e21", {})[1]) is float
    assert evaluate("$parse('-0')", {}) == (True, 0)
    assert evaluate("$parse('[1.0, 12345678901234567890]')", {}) == (True, [1, 12345678901234567000])
    assert evaluate("$v", {"v": {"b": 1, "7": 2}})[1] == {"7": 2, "b": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16.0", 16), ("-0", 0), ("1e3", 1000), ("0x10", 16), ("0X1f", 31), ("0b101", 5), ("0o17", 15), ("0x1g", None)],
)
def test_number_casts_as_the_reference(text: str, expected: int | None) -> None:
    assert evaluate(f"$number('{text}')", {}) == (True, expected)  # 0x1g: NaN, written as null


@pytest.mark.parametrize("text", [" 12 ", "+5", ".5", "5.", "1_000", "1e400", "-0x10", "Infinity", ""])
def test_number_refuses_what_the_reference_refuses(text: str) -> None:
    with pytest.raises(QueryEvaluationError):
        evaluate(f"$number('{text}')", {})


@pytest.mark.parametrize("expression", ["$power(2, 1024)", "$power(2, 1100)", "$power(-8, 1/3)", "$power(0, -1)", "$v * $power(2, $n)"])
def test_power_fails_when_json_cannot_hold_the_result(expression: str) -> None:
    # the workflow's back-off exponent: after ~1,020 failed probes $power(2, n) overflows on AWS too
    with pytest.raises(QueryEvaluationError):
        evaluate(expression, {"v": 30, "n": 1100})


def test_arithmetic_as_javascript() -> None:
    assert evaluate("5.5 % 2", {}) == (True, 1.5)
    assert evaluate("-5.5 % 2", {}) == (True, -1.5)
    assert evaluate("1/0", {}) == (True, None)  # Infinity, which JSON writes as null
    assert evaluate("1e308 * 10", {}) == (True, None)
    with pytest.raises(QueryEvaluationError):
        evaluate("(1/0) + 1", {})


def test_strings_compare_by_utf16_code_units() -> None:
    assert evaluate("'\uffff' < '\U0001f600'", {}) == (True, False)
    assert evaluate("$sort(['\uffff', '\U0001f600', 'b'])", {}) == (True, ["b", "\U0001f600", "\uffff"])
    # ... while $length and $substring count code points, in the reference too
    assert evaluate("[$length('\U0001f600\u00e9'), $substring('a\U0001f600b', 1, 1)]", {}) == (True, [2, "\U0001f600"])


def test_in_compares_as_strict_equality() -> None:
    assert evaluate("[true in [1], 1 in [true], {'a': 1} in [{'a': 1}], 1 in [1.0], null in [null]]", {}) == (
        True,
        [False, False, False, True, True],
    )


def test_a_null_argument_is_not_a_missing_one() -> None:
    with pytest.raises(QueryEvaluationError):
        evaluate("$lookup({'a': 1}, $states.input.callee)", {"states": {"input": {"callee": None}}})


def test_lookup_finds_what_a_javascript_object_inherits() -> None:
    """A registry looked up by ``constructor`` has a member there: test membership against ``$keys``."""
    registry = {"echo": {"metricId": 1}}
    for name in ("constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"):
        assert evaluate("$exists($lookup($r, $n))", {"r": registry, "n": name}) == (True, True), name
        assert evaluate("$n in $keys($r)", {"r": registry, "n": name}) == (True, False), name
    assert evaluate("$type($lookup($r, 'constructor'))", {"r": registry}) == (True, "function")
    assert evaluate("$lookup($r, '__proto__')", {"r": registry}) == (True, {})
    assert evaluate("$lookup($r, 'constructor')", {"r": registry}) == (False, None)  # JSON cannot hold a function
    assert evaluate("$lookup({'constructor': 5}, 'constructor')", {}) == (True, 5)
    assert evaluate("$exists($lookup($r, 'prototype'))", {"r": registry}) == (True, False)
    with pytest.raises(QueryEvaluationError):
        evaluate("$lookup($r, 'toString')()", {"r": registry})


def test_range_answers_a_sequence_as_aws_recorded() -> None:
    # ../shared/parity: test_array_jsonata::test_array_range records $range(1, 9, 9) as 1
    assert evaluate("$range(1, 9, 9)", {}) == (True, 1)
    assert evaluate("$range(5, 1, 1)", {}) == (False, None)
    assert evaluate("$range(0, 9, 3)", {}) == (True, [0, 3, 6, 9])


def test_parse_refuses_what_json_parse_refuses() -> None:
    for text in ("NaN", "Infinity", "[1,]"):
        with pytest.raises(QueryEvaluationError):
            evaluate(f"$parse('{text}')", {})


def test_results_do_not_share_or_change_the_bindings() -> None:
    bound = {"a": [1.0, None, {"b": 2.0}]}
    defined, value = evaluate("$v", {"v": bound})
    assert value == {"a": [1, None, {"b": 2}]} and bound == {"a": [1.0, None, {"b": 2.0}]}
    assert type(bound["a"][0]) is float


def test_a_number_past_the_largest_double_reads_as_infinity_as_json_parse_reads_it() -> None:
    huge = 10**400  # Python's json reads the digits as an int; JSON.parse as Infinity
    assert evaluate("$v in [1e308 * 10]", {"v": huge}) == (True, True)
    assert evaluate("$v in [-1e308 * 10]", {"v": -huge}) == (True, True)
    assert evaluate("$v", {"v": huge}) == (True, None)  # JSON.stringify writes Infinity as null


@pytest.mark.parametrize("expression", ["$type($v)", "$boolean($v)", "$not($v)", "$v ? 1 : 2", "$v and true"])
def test_type_and_truth_fail_on_infinity_as_the_reference(expression: str) -> None:
    # jsonata 2.0.6 tests numbers with isNumeric, which throws D1001 on Infinity
    with pytest.raises(QueryEvaluationError, match="out of range"):
        evaluate(expression, {"v": 10**400})
    assert evaluate("$type(0/0) & ' ' & $string($boolean(0/0))", {}) == (True, "object false")


def test_jsonata_python_patch_points_exist_on_the_pinned_version() -> None:
    from circuit_breaker.local import jsonata_js

    for owner, attribute in jsonata_js.PATCHED:
        assert attribute in jsonata_js._ORIGINALS and hasattr(owner, attribute), f"{owner.__name__}.{attribute}"
    with pytest.raises(jsonata_js.UnsupportedJsonataVersionError, match="requirements.txt"):
        jsonata_js.check_version("0.8.0")


def test_the_nondeterministic_functions_answer_in_the_reference_shapes() -> None:
    """The differential test gives both sides the same clock and dice; these are the engine's own."""
    import re

    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", evaluate("$uuid()", {})[1])
    assert evaluate("$now() = $fromMillis($millis())", {}) == (True, True)  # one instant per evaluation
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", evaluate("$now()", {})[1])
    assert type(evaluate("$millis()", {})[1]) is int


def test_floor_and_ceil_pass_infinities_through_as_math_floor_does() -> None:
    # $min([$ceil(1e308 * 10), 8]) is 8 in the reference; math.ceil(inf) raised OverflowError.
    assert evaluate("$min([$ceil(1e308 * 10), 8])", {}) == (True, 8)
    assert evaluate("$ceil(2.5)", {}) == (True, 3) and evaluate("$floor(-2.5)", {}) == (True, -3)


def test_a_function_may_return_infinity_as_the_reference_does() -> None:
    # The reference returns Infinity from $ceil(1e308 * 2) (written as null); an operator handed it fails.
    assert evaluate("$ceil(1e308 * $power(2, 1))", {}) == (True, None)
    assert evaluate("$min([$ceil(1e308 * 2), 8])", {}) == (True, 8)
    with pytest.raises(QueryEvaluationError):
        evaluate("$ceil(1e308 * 2) + 1", {})
