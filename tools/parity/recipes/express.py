"""Recipes of the Express and logging recordings: StartSyncExecution, async executions' logs, log levels."""

from __future__ import annotations

from tools.parity.recipes import Function, Recipe, recipe

_TIMES = {"StartTime": "start-time", "execution_starttime": "start-time", "EnteredTime": "entered-time", "state_enteredtime": "entered-time"}
_BASE_TEMPLATES = {"BASE_PASS_RESULT": "base/statemachines/pass_result.json5", "BASE_RAISE_FAILURE": "base/statemachines/raise_failure.json5"}


def _express(kind: str, **fields: object) -> Recipe:
    defaults: dict[str, object] = {"kind": kind, "sm_type": "EXPRESS", "role_placeholder": "sfn_role_arn"}
    if kind == "async":
        defaults["include_execution_data"] = True
    defaults.update(fields)
    return Recipe(**defaults)  # type: ignore[arg-type]


def _catch(kind: str) -> Recipe:
    return _express(
        kind,
        template="errorhandling/statemachines/task_service_lambda_invoke_catch_all.json5",
        functions=(Function("raise_exception", "lambda_function_name"),),
        input={"FunctionName": "{{fn.name}}", "Payload": None},
    )


def _retry(kind: str) -> Recipe:
    return _express(
        kind,
        template="scenarios/statemachines/lambda_invoke_with_retry_extended_input.json5",
        functions=(Function("raise_exception", "lambda_function_name"),),
        set={"States.InvokeLambdaWithRetry.Resource": "{{fn.arn}}"},
        input={},
    )


for _kind, _group in (("sync", "express/test_express_sync::TestExpressSync"), ("async", "express/test_express_async::TestExpressAsync")):
    recipe(f"{_group}::test_base")(lambda p, _k=_kind: _express(_k, template=_BASE_TEMPLATES[p or ""], input={}))
    recipe(f"{_group}::test_query_runtime_memory")(
        lambda p, _k=_kind: _express(
            _k, template="base/statemachines/query_context_object_values.json5", input={"message": "TestMessage"}, fixed_keys=_TIMES
        )
    )
    recipe(f"{_group}::test_catch")(lambda p, _k=_kind: _catch(_k))
    recipe(f"{_group}::test_retry")(lambda p, _k=_kind: _retry(_k))

# -- the Express API ---------------------------------------------------------------------------------

_API = "test_sfn_api_express::TestSfnApiExpress"
recipe(f"{_API}::test_create_describe_delete")(
    lambda p: Recipe(template="base/statemachines/pass_result.json5", kind="api", sm_type="EXPRESS")
)
recipe(f"{_API}::test_start_async_describe_history_execution")(
    lambda p: _express("async", template="base/statemachines/pass_result.json5", input={})
)
recipe(f"{_API}::test_start_sync_execution")(lambda p: _express("sync", template="base/statemachines/pass_result.json5", input={}))
_CALLBACKS = {"WAIT_FOR_TASK_TOKEN": "sns_publish_wait_for_task_token", "SYNC": "sfn_start_execution_sync"}
recipe(f"{_API}::test_illegal_callbacks")(
    lambda p: _express("create_error", template=f"callbacks/statemachines/{_CALLBACKS[p or '']}.json5")
)
recipe(f"{_API}::test_illegal_activity_task")(
    lambda p: _express(
        "create_error", template="activities/statemachines/base_activity_task.json5", activity="activity_arn",
        set={"States.ActivityTask.Resource": "{{activity.arn}}"},
    )
)

# -- logging levels ----------------------------------------------------------------------------------

_LOGS = "logs/test_logs::TestLogs"


@recipe(f"{_LOGS}::test_base", f"{_LOGS}::test_partial_log_levels")
def _logs(params: str | None) -> Recipe:
    template, level, include = (params or "").rsplit("_", 2)
    return Recipe(
        template=f"base/statemachines/{template}",
        kind="logs",
        log_level=level,
        include_execution_data=include == "True",
        input={},
    )


@recipe(f"{_LOGS}::test_log_group_with_multiple_runs")
def _logs_multiple(params: str | None) -> Recipe:
    return Recipe(
        template="base/statemachines/pass_result.json5",
        kind="logs",
        log_level="ALL",
        inputs=tuple({"ExecutionNumber": i} for i in range(3)),
    )


@recipe(f"{_LOGS}::test_deleted_log_group")
def _logs_deleted(params: str | None) -> Recipe:
    return Recipe(template="base/statemachines/pass_result.json5", kind="logs", log_level="ALL", input={}, delete_log_group=True)
