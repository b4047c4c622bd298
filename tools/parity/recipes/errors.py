"""Recipes of the error-handling recordings: Lambda errors, DynamoDB errors, data limits, timeouts."""

from __future__ import annotations

from tools.parity.recipes import Function, Recipe, recipe

_EH = "errorhandling/statemachines"


def _eh(
    name: str, handler: str, placeholder: str = "<lambda_function_name>", resource_state: str | None = None, **fields: object
) -> Recipe:
    edits = dict(fields.pop("set", {}))  # type: ignore[call-overload]
    if resource_state:
        edits[f"States.{resource_state}.Resource"] = "{{fn.arn}}"
    return Recipe(template=f"{_EH}/{name}.json5", functions=(Function(handler, placeholder),), set=edits, **fields)  # type: ignore[arg-type]


# -- States.DataLimitExceeded ------------------------------------------------------------------------

_STATES = "error_handling/test_states_errors::TestStatesErrors"
recipe(f"{_STATES}::test_service_task_lambada_data_limit_exceeded_on_large_utf8_response")(
    lambda p: _eh("task_service_lambda_invoke_catch_data_limit_exceeded", "large_output")
)
recipe(f"{_STATES}::test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response")(
    lambda p: _eh("task_service_lambda_invoke_catch_all", "large_output")
)
recipe(f"{_STATES}::test_task_lambda_data_limit_exceeded_on_large_utf8_response")(
    lambda p: _eh("task_service_lambda_invoke_catch_data_limit_exceeded", "large_output", resource_state="InvokeLambda")
)
recipe(f"{_STATES}::test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response")(
    lambda p: _eh("task_service_lambda_invoke_catch_all", "large_output", resource_state="InvokeLambda")
)


@recipe(f"{_STATES}::test_start_large_input")
def _large_pass_result(params: str | None) -> Recipe:
    return Recipe(
        definition={
            "StartAt": "State_1",
            "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "a" * (257 * 1024)}, "End": True}},
        }
    )


# -- Lambda errors: legacy resource (arn:aws:lambda:...) and lambda:invoke ----------------------------

_LEGACY = "error_handling/test_task_lambda::TestTaskLambda"
_SERVICE = "error_handling/test_task_service_lambda::TestTaskServiceLambda"
for _test, (_template, _handler) in {
    "test_raise_exception": ("task_lambda_invoke_catch_unknown", "raise_exception"),
    "test_raise_exception_catch": ("task_lambda_invoke_catch_relevant", "raise_exception"),
    "test_no_such_function": ("task_lambda_invoke_catch_unknown", "raise_exception"),
    "test_no_such_function_catch": ("task_lambda_invoke_catch_relevant", "raise_exception"),
}.items():
    recipe(f"{_LEGACY}::{_test}")(lambda p, _t=_template, _h=_handler: _eh(_t, _h, resource_state="Start"))
    recipe(f"{_SERVICE}::{_test}")(lambda p, _t=_template, _h=_handler: _eh(_t.replace("task_lambda", "task_service_lambda"), _h))


# The template's Catch names no error ("tbd"): the recording shows it caught the function's CustomException
# (the execution went on to ErrorMatched), so the test named that error there.
_CATCH_CUSTOM = {"States.InvokeLambda.Catch.0.ErrorEquals": ["CustomException"]}
recipe(f"{_LEGACY}::test_raise_custom_exception")(
    lambda p: _eh("task_service_lambda_invoke_catch_tbd", "raise_custom_exception", resource_state="InvokeLambda", set=_CATCH_CUSTOM)
)
recipe(f"{_SERVICE}::test_raise_custom_exception")(
    lambda p: _eh("task_service_lambda_invoke_catch_tbd", "raise_custom_exception", set=_CATCH_CUSTOM)
)


@recipe(f"{_SERVICE}::test_raise_exception_catch_output_path")
def _catch_output_path(params: str | None) -> Recipe:
    value = None if params in (None, "None") else params
    return _eh(
        "task_service_lambda_invoke_catch_all_output_path",
        "raise_exception",
        "lambda_function_name",
        set={"States.InvokeLambda.OutputPath": value},
    )


@recipe(f"{_SERVICE}::test_invoke_timeout")
def _invoke_timeout(params: str | None) -> Recipe:
    return _eh("task_service_lambda_invoke_catch_timeout", "wait_60_seconds", "<lambda_function_1_name>", wait_scale=1.0)


# -- DynamoDB errors ---------------------------------------------------------------------------------

_DYNAMODB = "error_handling/test_task_service_dynamodb::TestTaskServiceDynamoDB"
_ITEM = {"data": {"S": "HelloWorld"}, "id": {"S": "id1"}}


def _put_item(table: str, **document: object) -> Recipe:
    return Recipe(
        template=f"{_EH}/task_service_dynamodb_put_item.json5",
        input={"TableName": table, **document},
        replacements={table.lstrip("/"): "<test-table>"},
    )


# Names chosen per replay so no table of an earlier replay can exist.
recipe(f"{_DYNAMODB}::test_put_item_no_such_table")(lambda p: _put_item(f"no_such_sfn_test_table_{_unique()}", Item=_ITEM))
recipe(f"{_DYNAMODB}::test_put_item_invalid_table_name")(lambda p: _put_item(f"/invalid_test_table_{_unique()}", Item=_ITEM))
recipe(f"{_DYNAMODB}::test_invalid_param")(lambda p: _put_item(f"no_such_sfn_test_table_{_unique()}", Key=None, Item=None))


def _unique() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


# -- timeouts ----------------------------------------------------------------------------------------

_TIMEOUTS = "timeouts/test_timeouts::TestTimeouts"


def _timeout(name: str, resource_state: str | None = None) -> Recipe:
    return Recipe(
        template=f"timeouts/statemachines/{name}.json5",
        functions=(Function("wait_60_seconds", "<lambda_function_1_name>"),),
        set={f"States.{resource_state}.Resource": "{{fn.arn}}"} if resource_state else {},
        wait_scale=1.0,
    )


recipe(f"{_TIMEOUTS}::test_fixed_timeout_lambda")(lambda p: _timeout("lambda_wait_with_timeout_seconds", "Start"))
recipe(f"{_TIMEOUTS}::test_fixed_timeout_service_lambda")(lambda p: _timeout("service_lambda_wait_with_timeout_seconds"))
recipe(f"{_TIMEOUTS}::test_service_lambda_map_timeout")(lambda p: _timeout("service_lambda_map_function_invoke_with_timeout_seconds"))
recipe(f"{_TIMEOUTS}::test_fixed_timeout_service_lambda_with_path")(lambda p: _timeout("service_lambda_wait_with_timeout_seconds_path"))


@recipe(f"{_TIMEOUTS}::test_global_timeout")
def _global_timeout(params: str | None) -> Recipe:
    return Recipe(template="base/statemachines/wait_1_min.json5", set={"TimeoutSeconds": 1}, input={}, wait_scale=1.0)
