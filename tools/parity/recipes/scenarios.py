"""Recipes of the scenario recordings in scope: retries, catches, Choice, escapes, JSONata waits."""

from __future__ import annotations

from tools.parity.recipes import Function, Recipe, recipe, template_for

_SC = "scenarios/test_base_scenarios::TestBaseScenarios"
_T = "scenarios/statemachines"


def _with_function(template: str, state: str | None, handler: str, placeholder: str = "<lambda_function_name>") -> Recipe:
    return Recipe(
        template=f"{_T}/{template}.json5",
        functions=(Function(handler, placeholder),),
        set={f"States.{state}.Resource": "{{fn.arn}}"} if state else {},
    )


recipe(f"{_SC}::test_catch_states_runtime")(lambda p: _with_function("catch_states_runtime", "RaiseRuntime", "identity"))
recipe(f"{_SC}::test_catch_empty")(lambda p: _with_function("catch_empty", "StartTask", "identity"))
recipe(f"{_SC}::test_lambda_invoke_with_retry_base")(
    lambda p: _with_function("lambda_invoke_with_retry_base", "InvokeLambdaWithRetry", "raise_exception", "<lambda_function_1_name>")
)
recipe(f"{_SC}::test_lambda_invoke_with_retry_extended_input")(
    lambda p: _with_function("lambda_invoke_with_retry_extended_input", "InvokeLambdaWithRetry", "raise_exception", "<lambda_function_1_name>")
)
recipe(f"{_SC}::test_lambda_service_invoke_with_retry_extended_input")(
    lambda p: _with_function("lambda_service_invoke_with_retry_extended_input", None, "raise_exception", "<lambda_function_1_name>")
)
recipe(f"{_SC}::test_lambda_empty_retry")(lambda p: _with_function("lambda_empty_retry", "LambdaTask", "raise_exception"))


@recipe(f"{_SC}::test_choice_aws_docs_scenario", f"{_SC}::test_choice_singleton_composite")
def _choice(params: str | None) -> Recipe:
    name = (params or "CHOICE_STATE_AWS_SCENARIO").replace("_LITERAL_JSONATA", "_LITERAL_STRING_JSONATA")
    return Recipe(template=template_for("scenarios", name))


#: The timestamps the test waited for (the recording shows them as "date" or "timestamp"; its causes show them).
_TIMESTAMPS = {
    None: "2016-12-05T21:29:29Z",
    "SECONDS": "2016-12-05T21:29:29Z",
    "NANOSECONDS": "2016-12-05T21:29:29.000000000Z",
    "NO_T": "2016-12-05 21:29:29Z",
    "NO_Z": "2016-12-05T21:29:29",
    "INVALID_DATE": "2016-13-05T21:29:29Z",
    "INVALID_TIME": "2016-12-05T25:29:29Z",
    "INVALID_ISO": "05-12-2016T21:29:29Z",
}
recipe(f"{_SC}::test_wait_timestamp_jsonata")(
    lambda p: Recipe(template=f"{_T}/wait_timestamp_jsonata.json5", input={"TimestampValue": _TIMESTAMPS[p]})
)
recipe(f"{_SC}::test_escape_sequence_parsing")(lambda p: Recipe(template=template_for("scenarios", p)))
recipe(f"{_SC}::test_illegal_escapes")(lambda p: Recipe(template=template_for("scenarios", p), kind="create_error"))
