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
