"""Recipes of the service-integration recordings: Lambda, DynamoDB and EventBridge tasks."""

from __future__ import annotations

from tools.parity.recipes import Function, Recipe, recipe

_SV = "services/statemachines"

# -- DynamoDB ----------------------------------------------------------------------------------------

_DYNAMODB = "services/test_dynamodb_task_service::TestTaskServiceDynamoDB"


@recipe(f"{_DYNAMODB}::test_base_integrations")
def _dynamodb(params: str | None) -> Recipe:
    return Recipe(template=f"{_SV}/{(params or '').lower()}.json5", table="table-name")


@recipe(f"{_DYNAMODB}::test_invalid_integration")
def _dynamodb_invalid(params: str | None) -> Recipe:
    return Recipe(template=f"{_SV}/invalid_integration_dynamodb_query.json5", kind="create_error")


# -- lambda:invoke -----------------------------------------------------------------------------------

_LAMBDA = "services/test_lambda_task_service::TestTaskServiceLambda"
recipe(f"{_LAMBDA}::test_invoke", f"{_LAMBDA}::test_invoke_json_values")(
    lambda p: Recipe(template=f"{_SV}/lambda_invoke.json5", functions=(Function("identity"),))
)
recipe(f"{_LAMBDA}::test_invoke_bytes_payload")(
    lambda p: Recipe(template=f"{_SV}/lambda_invoke.json5", functions=(Function("return_bytes_str"),))
)
recipe(f"{_LAMBDA}::test_invoke_unsupported_param")(
    lambda p: Recipe(template=f"{_SV}/lambda_invoke_log_type.json5", functions=(Function("identity"),))
)
recipe(f"{_LAMBDA}::test_list_functions")(lambda p: Recipe(template=f"{_SV}/lambda_list_functions.json5", input={}))

# -- Lambda by function ARN (legacy resource) ---------------------------------------------------------

_TASK = "services/test_lambda_task::TestTaskLambda"


def _resource(handler: str, template: str = "lambda_invoke_resource", state: str = "step1", placeholder: str = "<lambda_function_1_name>") -> Recipe:
    return Recipe(
        template=f"{_SV}/{template}.json5", functions=(Function(handler, placeholder),), set={f"States.{state}.Resource": "{{fn.arn}}"}
    )


recipe(f"{_TASK}::test_invoke_bytes_payload")(lambda p: _resource("return_bytes_str"))
recipe(f"{_TASK}::test_invoke_json_values", f"{_TASK}::test_invoke_string_payload")(lambda p: _resource("identity"))
recipe(f"{_TASK}::test_lambda_task_filter_parameters_input")(
    lambda p: _resource("identity", "lambda_input_parameters_filter", "CheckComplete", "lambda_function_name")
)


@recipe(f"{_TASK}::test_invoke_pipe")
def _pipe(params: str | None) -> Recipe:
    return Recipe(
        template=f"{_SV}/lambda_invoke_pipe.json5",
        functions=(Function("return_hello_world", "<lambda_function_1_name>"), Function("identity", "<lambda_function_2_name>")),
        set={"States.step1.Resource": "{{fn.arn}}", "States.step2.Resource": "{{fn2.arn}}"},
    )


# -- EventBridge -------------------------------------------------------------------------------------

_EVENTS = "services/test_events_task_service::TestTaskServiceEvents"
recipe(
    f"{_EVENTS}::test_put_events_base",
    f"{_EVENTS}::test_put_events_malformed_detail",
    f"{_EVENTS}::test_put_events_no_source",
    f"{_EVENTS}::test_put_events_mixed_malformed_detail",
)(lambda p: Recipe(template=f"{_SV}/events_put_events.json5", kind="events"))
