"""Recipes of the data-flow recordings: variables, Arguments/Output, JSONata, JSONPath, context object, waits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tools.parity.recipes import RECORDED_ITEMS, Function, Recipe, recipe, template_for

_ARN_TOKEN = "%LAMBDA_FUNCTION_ARN_LITERAL_PLACEHOLDER%"
_CONTEXT_TOKEN = "%CONTEXT_OBJECT_LITERAL_PLACEHOLDER%"
_CONTEXT_TIMES = {"StartTime": "start-time", "execution_starttime": "start-time", "EnteredTime": "entered-time", "state_enteredtime": "entered-time"}


# -- assign ------------------------------------------------------------------------------------------

@recipe(
    "assign/test_assign_base::TestAssignBase::test_base_cases",
    "assign/test_assign_base::TestAssignBase::test_base_parallel_cases",
    "assign/test_assign_reference_variables::TestAssignReferenceVariables::test_reference_assign",
    "assign/test_assign_reference_variables::TestAssignReferenceVariables::test_undefined_reference",
    "assign/test_assign_reference_variables::TestAssignReferenceVariables::test_assign_from_value",
    "assign/test_assign_reference_variables::TestAssignReferenceVariables::test_state_assign_evaluation_order",
    "assign/test_assign_reference_variables::TestAssignReferenceVariables::test_reference_in_map_state",
)
def _assign_by_template(params: str | None) -> Recipe:
    return Recipe(template=template_for("assign", params))


@recipe("assign/test_assign_base::TestAssignBase::test_assign_in_choice")
def _assign_in_choice(params: str | None) -> Recipe:
    return Recipe(template="assign/statemachines/choice_condition_jsonata.json5")


@recipe("assign/test_assign_reference_variables::TestAssignReferenceVariables::test_assign_in_choice_state")
def _assign_in_choice_state(params: str | None) -> Recipe:
    return Recipe(template="assign/statemachines/base_assign_in_choice.json5")


@recipe("assign/test_assign_reference_variables::TestAssignReferenceVariables::test_assign_in_wait_state")
def _assign_in_wait(params: str | None) -> Recipe:
    return Recipe(template="assign/statemachines/base_assign_in_wait.json5")


@recipe("assign/test_assign_reference_variables::TestAssignReferenceVariables::test_assign_in_catch_state")
def _assign_in_catch(params: str | None) -> Recipe:
    return Recipe(
        template="assign/statemachines/base_assign_in_catch.json5",
        functions=(Function("raise_exception", "<lambda-function-name>"),),
    )


@recipe("assign/test_assign_reference_variables::TestAssignReferenceVariables::test_variables_in_lambda_task")
def _variables_in_lambda_task(params: str | None) -> Recipe:
    return Recipe(template=template_for("assign", params), functions=(Function("return_bytes_str", "<lambda-function-name>"),))


@recipe("assign/test_assign_reference_variables::TestAssignReferenceVariables::test_reference_in_map_state_max_items_path")
def _reference_in_map_max_items(params: str | None) -> Recipe:
    # The test put a JSON list in file.json and read it with a distributed Map's ItemReader.
    return Recipe(template=template_for("assign", params), bucket="bucket-name", bucket_objects={"file.json": RECORDED_ITEMS})


# -- Arguments and Output ------------------------------------------------------------------------------

@recipe("arguments/test_arguments::TestArgumentsBase::test_base_cases")
def _arguments(params: str | None) -> Recipe:
    return Recipe(
        template=template_for("arguments", "BASE_LAMBDA_EXPRESSIONS" if params == "BASE_LAMBDA_EXPRESSION" else params),
        set={"States.State0.Resource": "{{fn.arn}}"},
        functions=(Function("identity", "lambda_function_name"),),
    )


@recipe("outputdecl/test_output::TestArgumentsBase::test_base_cases")
def _output(params: str | None) -> Recipe:
    return Recipe(template=template_for("outputdecl", params))


@recipe("outputdecl/test_output::TestArgumentsBase::test_base_lambda")
def _output_lambda(params: str | None) -> Recipe:
    return Recipe(
        template=template_for("outputdecl", params),
        set={"States.State0.Resource": "{{fn.arn}}"},
        functions=(Function("identity", "lambda_function_name"),),
    )


@recipe("outputdecl/test_output::TestArgumentsBase::test_base_task_lambda")
def _output_task_lambda(params: str | None) -> Recipe:
    return Recipe(template=template_for("outputdecl", params), functions=(Function("identity", "lambda_function_name"),))


_OUTPUT_VALUES = {
    "NULL": None,
    "INT": 0,
    "FLOAT": 0.1,
    "BOOL": True,
    "STR_LIT": "string literal",
    "JSONATA_EXPR": "{% $states.input %}",
    "LIST_EMPY": [],
    "LIST_RICH": [None, 0, 0.1, True, "string", [], "$nosuchvar", "$.no.such.path", "{% $states.input %}", {"key": "{% true %}"}],
}


@recipe("outputdecl/test_output::TestArgumentsBase::test_base_output_any_non_dict")
def _output_any(params: str | None) -> Recipe:
    return Recipe(template="outputdecl/statemachines/base_output_any.json5", set={"States.State0.Output": _OUTPUT_VALUES[params or ""]})


@recipe("outputdecl/test_output::TestArgumentsBase::test_output_in_choice")
def _output_in_choice(params: str | None) -> Recipe:
    return Recipe(template="outputdecl/statemachines/choice_condition_jsonata.json5")


# -- JSONata evaluation -------------------------------------------------------------------------------

_NUMBER_EXPRESSION = "{% $variable := 1 %}"
_FIELD_VALUES = {
    "ITEMS": ("Items", [1, '{% $number("2") %}', 3]),
    "ITEMS_DOUBLE_QUOTES": ("Items", [1, "{% $number('2') %}", 3]),
    "MAX_CONCURRENCY": ("MaxConcurrency", _NUMBER_EXPRESSION),
    "TOLERATED_FAILURE_PERCENTAGE": ("ToleratedFailurePercentage", _NUMBER_EXPRESSION),
    "TOLERATED_FAILURE_COUNT": ("ToleratedFailureCount", _NUMBER_EXPRESSION),
    "TIMEOUT_SECONDS": ("TimeoutSeconds", _NUMBER_EXPRESSION),
    "HEARTBEAT_SECONDS": ("HeartbeatSeconds", _NUMBER_EXPRESSION),
}
_REGEX_EXPRESSIONS = {
    "BASE": r'{% $contains("hello$world", /^hello\$/) %}',
    "BASE_FALSE": r'{% $contains("hello$world", /^hello\ /) %}',
    "BASE_SINGLE_QUOTE": r"{% $contains('hello$world', /^hello\$/) %}",
    "BASE_SINGLE_QUOTE_FALSE": r"{% $contains('hello$world', /^hello\ /) %}",
}
_EVALUATE = "evaluate_jsonata/test_base_evaluate_expressions::TestBaseEvaluateJsonata"


@recipe(f"{_EVALUATE}::test_base_task")
def _evaluate_task(params: str | None) -> Recipe:
    field, value = _FIELD_VALUES[params or ""]
    return Recipe(
        template="evaluatejsonata/statemachines/base_task.json5",
        set={f"States.Start.{field}": value},
        replace={_ARN_TOKEN: "{{fn.arn}}"},
        functions=(Function("identity", "<lambda-function-name>"),),
    )


@recipe(f"{_EVALUATE}::test_base_map")
def _evaluate_map(params: str | None) -> Recipe:
    field, value = _FIELD_VALUES[params or ""]
    return Recipe(template="evaluatejsonata/statemachines/base_map.json5", set={f"States.Start.{field}": value})


@recipe(f"{_EVALUATE}::test_base_task_from_input")
def _evaluate_task_from_input(params: str | None) -> Recipe:
    field = _FIELD_VALUES[params or ""][0]
    return Recipe(
        template="evaluatejsonata/statemachines/base_task.json5",
        set={f"States.Start.{field}": "{% $states.input.input_value %}"},
        replace={_ARN_TOKEN: "{{fn.arn}}"},
        functions=(Function("identity", "<lambda-function-name>"),),
    )


@recipe(f"{_EVALUATE}::test_base_map_from_input")
def _evaluate_map_from_input(params: str | None) -> Recipe:
    field = _FIELD_VALUES[params or ""][0]
    return Recipe(template="evaluatejsonata/statemachines/base_map.json5", set={f"States.Start.{field}": "{% $states.input.input_value %}"})


@recipe(f"{_EVALUATE}::test_base_jsonata_regular_expressions")
def _evaluate_regex(params: str | None) -> Recipe:
    return Recipe(template="evaluatejsonata/statemachines/base_pass.json5", set={"States.Start.Output": _REGEX_EXPRESSIONS[params or ""]})


@recipe(f"{_EVALUATE}::test_merge_with_dynamic_args")
def _evaluate_merge(params: str | None) -> Recipe:
    return Recipe(
        template="evaluatejsonata/statemachines/base_pass.json5",
        set={"States.Start.Output": "{% $merge([$states.input.part1, $states.input.part2]) %}"},
    )


# -- query language -----------------------------------------------------------------------------------

_QUERY_TEMPLATES = {
    "JSON_PATH": "base_pass_jsonpath",
    "JSONATA": "base_pass_jsonata",
    "JSONATA_OVERRIDE": "base_pass_jsonata_override",
    "JSONATA_OVERRIDE_DEFAULT": "base_pass_jsonata_override_default",
}


@recipe(
    "query_language/test_base_query_language::TestBaseQueryLanguage::test_base_query_language_field",
    "query_language/test_base_query_language::TestBaseQueryLanguage::test_query_language_field_override",
)
def _query_language(params: str | None) -> Recipe:
    return Recipe(template=f"querylanguage/statemachines/{_QUERY_TEMPLATES[params or '']}.json5")


@recipe(
    "query_language/test_mixed_query_language::TestMixedQueryLanguageFlow::test_variable_sampling",
    "query_language/test_mixed_query_language::TestMixedQueryLanguageFlow::test_output_to_state",
)
def _mixed_query_language(params: str | None) -> Recipe:
    return Recipe(template=template_for("querylanguage", (params or "").replace("_REF", "_REFERENCE")))


@recipe("query_language/test_mixed_query_language::TestMixedQueryLanguageFlow::test_task_dataflow_to_state")
def _mixed_dataflow(params: str | None) -> Recipe:
    return Recipe(
        template="querylanguage/statemachines/jsonpath_to_jsonata_dataflow.json5",
        functions=(Function("identity", "<lambda-function-name>"),),
    )


@recipe("query_language/test_mixed_query_language::TestMixedQueryLanguageFlow::test_lambda_task_resource_data_flow")
def _mixed_lambda_resource(params: str | None) -> Recipe:
    return Recipe(
        template=template_for("querylanguage", (params or "").replace("_RESOURCE_", "_RESOURCE_FROM_")),
        replace={_ARN_TOKEN: "{{fn.arn}}"},
        functions=(Function("identity", "<lambda-function-name>"),),
    )


# -- $states.errorOutput ------------------------------------------------------------------------------

@recipe(
    "states_variables/test_error_output::TestStateVariablesTemplate::test_task_catch_error_output",
    "states_variables/test_error_output::TestStateVariablesTemplate::test_catch_error_variable_sampling",
    "states_variables/test_error_output::TestStateVariablesTemplate::test_task_catch_error_with_retry",
    "states_variables/test_error_output::TestStateVariablesTemplate::test_map_catch_error",
    "states_variables/test_error_output::TestStateVariablesTemplate::test_parallel_catch_error",
)
def _error_output(params: str | None) -> Recipe:
    return Recipe(
        template=template_for("statevariables", params),
        replace={_ARN_TOKEN: "{{fn.arn}}"},
        functions=(Function("raise_exception", "<lambda-function-name>"),),
    )


# -- context object -----------------------------------------------------------------------------------

_CONTEXT = "context_object/test_context_object::TestSnfBase"


def _context_template(name: str, literal: str | None = None, **fields: object) -> Recipe:
    return Recipe(
        template=f"context_object/statemachines/{name}.json5",
        replace={_CONTEXT_TOKEN: literal} if literal is not None else {},
        **fields,  # type: ignore[arg-type]
    )


@recipe(f"{_CONTEXT}::test_input_path")
def _context_input_path(params: str | None) -> Recipe:
    return _context_template("context_object_input_path", params or "")


@recipe(f"{_CONTEXT}::test_output_path")
def _context_output_path(params: str | None) -> Recipe:
    return _context_template("context_object_output_path", params or "")


@recipe(f"{_CONTEXT}::test_result_selector")
def _context_result_selector(params: str | None) -> Recipe:
    return _context_template(
        "context_object_result_selector", "$$.Execution.Input", functions=(Function("identity", "<lambda_function_name>"),)
    )


@recipe(f"{_CONTEXT}::test_variable")
def _context_variable(params: str | None) -> Recipe:
    return _context_template("context_object_variable", "$$.Execution.Input.input-value")


@recipe(f"{_CONTEXT}::test_error_cause_path")
def _context_error_cause(params: str | None) -> Recipe:
    return _context_template("context_object_error_cause_path")


@recipe(f"{_CONTEXT}::test_items_path")
def _context_items_path(params: str | None) -> Recipe:
    return _context_template("context_object_items_path", "$$.Execution.Input.input-values")


# -- base ---------------------------------------------------------------------------------------------

_BASE = "base/test_base::TestSnfBase"


def _base(name: str, **fields: object) -> Recipe:
    return Recipe(template=f"base/statemachines/{name}.json5", **fields)  # type: ignore[arg-type]


for _test, _name in {
    "test_state_fail": "raise_failure",
    "test_state_fail_path": "raise_failure_path",
    "test_state_fail_intrinsic": "raise_failure_path_intrinsic",
    "test_state_fail_empty": "raise_empty_failure",
    "test_state_pass_result": "pass_result",
    "test_decl_version_1_0": "decl_version_1_0",
    "test_state_pass_result_null_input_output_paths": "pass_result_null_input_output_paths",
    "test_state_pass_regex_json_path_base": "pass_result_regex_json_path_base",
}.items():
    recipe(f"{_BASE}::{_test}")(lambda params, _name=_name: _base(_name))


@recipe(f"{_BASE}::test_state_pass_result_jsonpaths")
def _pass_result_jsonpaths(params: str | None) -> Recipe:
    return _base("pass_result", set={"States.State_1.Result": {"unsupported1.$": "$.jsonpath", "unsupported2.$": "$$"}})


@recipe(f"{_BASE}::test_query_context_object_values")
def _query_context(params: str | None) -> Recipe:
    return _base("query_context_object_values", fixed_keys=_CONTEXT_TIMES)


@recipe(f"{_BASE}::test_json_path_array_access", f"{_BASE}::test_json_path_array_wildcard_or_slice_with_no_input")
def _json_path_array(params: str | None) -> Recipe:
    return _base("json_path_array_access", set={"States.EntryState.Parameters": {"item.$": params or "$"}})


@recipe(f"{_BASE}::test_event_bridge_events_base")
def _status_events(params: str | None) -> Recipe:
    # The test waited 1 s (60 s on AWS) in wait_1_min, with its events routed to a queue; the transformers
    # it added wrote fixed words over the detail's name and dates (null stopDate included).
    return _base(
        "wait_1_min",
        kind="status_events",
        set={"States.State_1.Seconds": 1},
        input={},
        fixed_keys={"name": "test_event_bridge_events-{short_uid()}", "startDate": "start-date", "stopDate": "stop-date"},
    )


# -- Wait ---------------------------------------------------------------------------------------------

_WAIT = "base/test_wait::TestSfnWait"


def _timestamp_recipe(text: str) -> Recipe:
    return _base("wait_timestamp_path", input={"start_at": text}, replacements={text: "<timestamp>"})


@recipe(f"{_WAIT}::test_timestamp_too_far_in_future_boundary")
def _wait_far_future(params: str | None) -> Recipe:
    # The test read the history while the execution waited (it had not failed): its waits must be real.
    moment = datetime.now(timezone.utc) + timedelta(days=int(params or 0))
    return replace(_timestamp_recipe(f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"), read_while_waiting=True, wait_scale=1.0)


@recipe(f"{_WAIT}::test_wait_timestamppath")
def _wait_timestamp(params: str | None) -> Recipe:
    return _timestamp_recipe(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%S}{params or ''}")


@recipe(f"{_WAIT}::test_base_wait_seconds_path")
def _wait_seconds(params: str | None) -> Recipe:
    return _base("wait_seconds_path")


# -- JSONata functions of Step Functions --------------------------------------------------------------

for _test_id, _template in {
    "intrinsic_functions/test_array_jsonata::TestArrayJSONata::test_array_partition": "array/array_partition_jsonata",
    "intrinsic_functions/test_array_jsonata::TestArrayJSONata::test_array_range": "array/array_range_jsonata",
    "intrinsic_functions/test_json_manipulation_jsonata::TestJsonManipulationJSONata::test_parse": "json_manipulation/parse_jsonata",
    "intrinsic_functions/test_math_operations_jsonata::TestMathOperationsJSONata::test_math_random_seeded": "math_operations/math_random_seeded_jsonata",
}.items():
    recipe(_test_id)(
        lambda params, _template=_template: Recipe(
            template=f"intrinsicfunctions/statemachines/{_template}.json5",
            kind="multi",
            fixed_keys={"FunctionResult": "RandomNumberGenerated"} if "random" in _template else {},
        )
    )
