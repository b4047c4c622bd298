"""Every point where the local engine changes moto, named in one registry, pinned to one moto version.

moto's Step Functions executor (ported from LocalStack's interpreter) runs ASL, but not yet the way
AWS does. Each :class:`PatchPoint` in :data:`PATCH_POINTS` names the moto attribute it replaces, the
gap it covers (the README's *The local engine*) and the function of this package that covers it; the modules
beside this one hold those functions, one concern each:

- ``json_paths``: a JSONPath that selects nothing, worded as AWS (Jayway) words it
- ``jsonata``: JSONata expressions evaluated with real bindings, failures as AWS names them
- ``evaluation_failures``: ``EvaluationFailed`` events as AWS records them (field paths, chain, once), causes naming the entered event
- ``service_errors``: errors of service-integration tasks (DynamoDB, EventBridge) named as on AWS
- ``assignments``: ``Assign`` computed in the state, applied as it exits; its strings JSON-decoded
- ``choice``: Choice states' state-level ``Assign`` applied whichever rule matches
- ``branches``: Parallel branches and Map iterations: failures keep their States error names, a failing Task is aborted
- ``definitions``: definitions refused at creation as AWS refuses them (SCHEMA_VALIDATION_FAILED at a location)
- ``eventbridge``: PutEvents refusing non-object details, delivered events with their account
- ``executions``: names, parsed-definition cache, output encoding, CloudWatch logging
- ``waits``: ``Retry`` backoff and ``Wait`` states on the engine's :class:`EngineClock`
- ``concurrency``: thread-safe clients, backend lookups, serialised DynamoDB requests, finished threads forgotten
- ``dynamodb_requests``: DynamoDB's item operations validated (required members, table names) and answered as on AWS
- ``dynamodb_numbers``: numbers projected as stored (past 38 digits too), refused past DynamoDB's range
- ``dynamodb_expressions``: a DynamoDB expression that does not parse is AWS's ValidationException
- ``item_throughput``: capacity units counted as DynamoDB counts them; per-item limits enforced when the engine asks
- ``fault_injection``: service errors on purpose (the engine's :class:`FaultInjector`)
- ``lambda_invoke``: handlers run in-process instead of in Docker, with their ClientContext
- ``sdk_metadata``: integration results with the SDK's HTTP metadata, Lambda payloads read as strict JSON
- ``cloudformation``: state machines and public parameters from a synthesized template
- ``status_events``: Standard executions' status changes published to the default EventBridge bus
- ``sync_executions``: ``StartSyncExecution`` (Express machines answer synchronously), as AWS answers it
- ``task_credentials``: a Task's ``Credentials`` role must be assumable by the execution's role
- ``unknown_operations``: an API moto lacks answers a 4xx naming it, not a 500 with a traceback

:func:`apply` installs them all; it refuses to run on a moto version other than :data:`MOTO_VERSION`,
and ``tests/engine/test_moto_patches.py`` checks that every patched attribute still exists, so an upgrade that
moves one fails loudly instead of silently running unpatched.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Callable

from circuit_breaker.local import cloudformation_models
from circuit_breaker.local.patches import (
    active,
    assignments,
    branches,
    choice,
    cloudformation,
    concurrency,
    definitions,
    dynamodb_expressions,
    dynamodb_numbers,
    dynamodb_requests,
    evaluation_failures,
    eventbridge,
    executions,
    fault_injection,
    item_throughput,
    json_paths,
    jsonata,
    lambda_invoke,
    sdk_metadata,
    service_errors,
    status_events,
    sync_executions,
    task_credentials,
    unknown_operations,
    waits,
)
from circuit_breaker.local.patches.cloudformation import put_public_parameter, substitute_definition
from circuit_breaker.local.clock import EngineClock

if TYPE_CHECKING:
    from circuit_breaker.local.faults import FaultInjector
    from circuit_breaker.local.lambda_runtime import LambdaRuntime
    from circuit_breaker.local.throughput import ItemThroughput

#: The moto release these patches were written against.
MOTO_VERSION = "5.2.5"

_SFN = "moto.stepfunctions.parser.asl"


class UnsupportedMotoVersionError(RuntimeError):
    """The installed moto is not the version the patches were written for."""


def _replacement(new: Any) -> Callable[[Any], Any]:
    """A patch that replaces the attribute outright (the original is not called)."""
    return lambda _original: new


@dataclass(frozen=True)
class PatchPoint:
    """One attribute of moto that the engine changes, why, and how."""

    module: str
    attribute: str
    gap: str
    patch: Callable[[Any], Any] | None
    """``original -> replacement``; ``None`` for a point that is added to in place, not replaced."""
    rebind_imports: bool = False
    """Also replace the references held by modules that imported the function by name."""
    adds: bool = False
    """The attribute is missing in moto and the patch adds it (``patch(None)`` is the new attribute)."""

    @property
    def target(self) -> str:
        return f"{self.module}.{self.attribute}"

    def resolve(self) -> tuple[Any, str]:
        """The object owning the attribute and the attribute's last name; raises if moto moved it."""
        owner: Any = importlib.import_module(self.module)
        *path, name = self.attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if self.adds:
            current = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if current is not None and not getattr(current, "_breaker_added", False):
                raise AttributeError(f"{self.target} now exists in moto {version('moto')}: use it instead of adding one")
        elif not hasattr(owner, name):
            raise AttributeError(f"{self.target} no longer exists in moto {version('moto')}")
        return owner, name


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint(
        f"{_SFN}.component.common.string.string_expression",
        "StringJSONata._eval_body",
        "no JSONata engine (_eval_jsonata is None); variables spliced into expressions as unescaped text; "
        "failures not reported as States.QueryEvaluationError; stand-ins for $parse/$hash/$uuid",
        _replacement(jsonata.string_jsonata_eval_body),
    ),
    PatchPoint(
        f"{_SFN}.component.common.string.string_expression",
        "StringVariableSample._eval_body",
        "variable references ($name) evaluated through the same unescaped text splicing",
        _replacement(jsonata.variable_sample_eval_body),
    ),
    PatchPoint(
        f"{_SFN}.component.eval_component",
        "EvalComponent._field_name",
        "a failing expression's location and cause name a moto class (JSONataTemplateValueTerminalStringJSONata) "
        "instead of the state's field (Output, Arguments...), and no EvaluationFailed event is recorded",
        _replacement(evaluation_failures.state_field_name),
    ),
    PatchPoint(
        f"{_SFN}.component.common.jsonata.jsonata_template_binding",
        "JSONataTemplateBinding._field_name",
        "a failure inside an object names the key alone ('result') where AWS names the path from the field ('Output/result')",
        _replacement(evaluation_failures.binding_field_name),
    ),
    PatchPoint(
        f"{_SFN}.component.common.jsonata.jsonata_template_binding",
        "JSONataTemplateBinding._eval_body",
        "the key of an Output/Arguments object is not added to the failing field's path",
        evaluation_failures.within_binding,
    ),
    PatchPoint(
        f"{_SFN}.component.common.assign.assign_template_binding",
        "AssignTemplateBinding._eval_body",
        "the variable an Assign block failed to compute is not named in the location ('Assign' instead of 'Assign/result')",
        evaluation_failures.within_binding,
    ),
    PatchPoint(
        f"{_SFN}.component.state.state",
        "CommonStateField._eval_state_input",
        "an EvaluationFailed event is chained to previousEventId 0 and its cause to the last event, where AWS chains it "
        "to the event before the state was entered and names the entered event",
        evaluation_failures.records_entered_state,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.execute_state",
        "ExecutionState._eval_state",
        "a Task whose Arguments fail to evaluate records its EvaluationFailed event twice (once where it failed, "
        "once more as the task's failure)",
        _replacement(evaluation_failures.execution_eval_state),
    ),
    PatchPoint(
        f"{_SFN}.component.common.error_name.failure_event",
        "FailureEvent.__init__",
        "a failure's cause says the state was 'entered at the event id' of the history's last event (a TaskSucceeded, "
        "say); AWS names the state's entered event",
        evaluation_failures.names_the_entered_event,
    ),
    PatchPoint(
        f"{_SFN}.component.common.path.input_path",
        "InputPath._eval_body",
        "a path that selects nothing is worded 'No results for path: $['a.b']' whatever the break (Jayway: "
        "'Missing property in path $['a']' on the way, 'No results for path: $['a']['b']' at the end)",
        json_paths.words_path_failures,
    ),
    PatchPoint(
        f"{_SFN}.component.common.path.output_path",
        "OutputPath._eval_body",
        "the same wording of a path that selects nothing, in OutputPath",
        json_paths.words_path_failures,
    ),
    PatchPoint(
        f"{_SFN}.component.common.error_name.failure_event",
        "FailureEventException.get_execution_failed_event_details",
        "the failure of a Parallel branch or Map iteration is decorated a second time ('executing the state 'None' ... "
        "executing the state 'Fallback' ...') where AWS passes the inner cause on",
        evaluation_failures.passes_inner_failures,
    ),
    PatchPoint(
        f"{_SFN}.component.state.wait.wait_function.timestamp",
        "Timestamp._create_failure_event",
        "a JSONata Wait timestamp that is not ISO-8601 fails with States.Runtime and no EvaluationFailed event; AWS fails "
        "it with States.QueryEvaluationError at 'Timestamp'",
        evaluation_failures.jsonata_timestamp_failure,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_dynamodb",
        "StateTaskServiceDynamoDB._from_error",
        "a failing expression in a DynamoDB task's Arguments surfaces as DynamoDB.AmazonDynamoDBException",
        service_errors.passes_failure_events,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_dynamodb",
        "StateTaskServiceDynamoDB._error_cause_from_client_error",
        "every DynamoDB error is named DynamoDB.<code>; AWS names only the modelled exceptions so and every other "
        "code (ThrottlingException, ValidationException...) DynamoDB.AmazonDynamoDBException, the code in the Cause",
        service_errors.names_dynamodb_errors,
    ),
    PatchPoint(
        f"{_SFN}.component.common.assign.assign_decl",
        "AssignDecl._eval_body",
        "a state's Assign changes the variables at once, so the same state's Output/OutputPath sees the new values; "
        "on AWS every expression of the state sees the values from before it",
        _replacement(assignments.assign_decl_eval_body),
    ),
    PatchPoint(
        f"{_SFN}.component.state.state",
        "CommonStateField._get_state_exited_event_details",
        "(with AssignDecl._eval_body) where the state's assignments are applied: as it exits",
        assignments.applies_on_exit,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.asl.parse.preprocessor",
        "Preprocessor.visitAssign_template_value_terminal_string_literal",
        "a string in an Assign block keeps its JSON escapes as text (\\\" stays two characters)",
        _replacement(assignments.assign_string_literal),
    ),
    PatchPoint(
        "moto.stepfunctions.parser.asl.eval.variable_store",
        "VariableStore.get_assigned_variables",
        "a history event's assignedVariables wrap a string in quotes without escaping it (not JSON)",
        _replacement(assignments.assigned_variables),
    ),
    PatchPoint(
        f"{_SFN}.component.state.choice.state_choice",
        "StateChoice._eval_state",
        "a Choice state's own Assign is applied only when Default is taken; AWS applies it whichever rule matches",
        _replacement(choice.choice_eval_state),
    ),
    PatchPoint(
        f"{_SFN}.component.state.choice.state_choice",
        "StateChoice._eval_state_output",
        "applies the state-level Assign on Default (now applied with the rule in _eval_state)",
        _replacement(choice.choice_eval_state_output),
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_events",
        "StateTaskServiceEvents._from_error",
        "an EventBridge error (throttling, outage) in an events:putEvents task surfaces as States.Runtime "
        "instead of EventBridge.<code>, so no Catch on States.TaskFailed can handle it; the Cause of refused entries "
        "(EventBridge.FailedEntry) is the Python repr of the answer instead of its JSON",
        service_errors.names_eventbridge_errors,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_parallel.branch_worker",
        "BranchWorker._thread_routine",
        "a Task state that fails a Parallel branch is not recorded as aborted: AWS records TaskStateAborted "
        "after its TaskFailed, before the Parallel state fails or retries",
        _replacement(branches.branch_thread_routine),
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_parallel.branches_decl",
        "CustomErrorName",
        "a branch failing with a States.* error (States.QueryEvaluationError, States.Timeout...) ends the execution "
        "with States.Runtime ('Custom Error Names MUST NOT begin with States.') instead of failing the Parallel state with it",
        _replacement(branches.passed_on_error_name),
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_map.iteration.iteration_worker",
        "CustomErrorName",
        "a Map iteration failing with a States.* error ends the execution with States.Runtime instead of failing the Map state with it",
        _replacement(branches.passed_on_error_name),
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_map.state_map",
        "StateMap._eval_execution",
        "a distributed Map's MapStateExited follows MapRunSucceeded; AWS (since late 2024) chains it to MapRunStarted",
        branches.map_exit_follows_the_map_run_start,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service",
        "StateTaskService._before_eval_execution",
        "a Task's Credentials.RoleArn is ignored: the call succeeds even when the role does not exist or does not trust "
        "the execution's role, where AWS fails the task with States.TaskFailed",
        task_credentials.assumes_the_task_role,
    ),
    PatchPoint(
        f"{_SFN}.utils.boto_client",
        "boto_client_for",
        "task clients come from boto3's default session, which is not thread-safe",
        _replacement(concurrency.boto_client_for),
        rebind_imports=True,
    ),
    PatchPoint(
        f"{_SFN}.component.common.retry.retrier_decl",
        "RetrierDecl._eval_body",
        "the retrier really sleeps: waits go through the engine's EngineClock (recorded, optionally scaled)",
        _replacement(waits.retrier_eval_body),
    ),
    PatchPoint(
        f"{_SFN}.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
        "Wait states really sleep: they go through the engine's EngineClock (recorded, optionally scaled); a delay "
        "past 2^31-1 seconds is accepted where AWS fails it ('Wait state delay is too long.')",
        _replacement(waits.wait_state_interval),
    ),
    PatchPoint(
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend.start_execution",
        "an execution started without a name is named 'None', so the next one fails with ExecutionAlreadyExists; "
        "input that is not JSON (NaN, Infinity) is accepted and its output is not JSON either",
        executions.starts_executions,
    ),
    PatchPoint(
        "moto.stepfunctions.responses",
        "StepFunctionResponse.describe_execution",
        "DescribeExecution leaves out inputDetails, redriveCount/redriveStatus(Reason) and a timed-out execution's stopDate",
        executions.describes_executions_as_aws,
    ),
    PatchPoint(
        "moto.stepfunctions.responses",
        "StepFunctionResponse.start_sync_execution",
        "no StartSyncExecution (moto has the synchronous executor, SyncExecution, but no API for it): an Express "
        "workflow cannot be called synchronously",
        _replacement(sync_executions.start_sync_execution),
        adds=True,
    ),
    PatchPoint(
        "moto.stepfunctions.models",
        "StepFunctionBackend.accepted_exec_arn_format",
        "only ARNs of Standard executions (…:execution:…) are accepted; Express executions are named "
        "…:express:STATE_MACHINE:NAME:ID on AWS",
        _replacement(executions.EXECUTION_ARN),
    ),
    PatchPoint(
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend.create_state_machine",
        "a definition the parser refuses is answered with an empty error code instead of InvalidDefinition; AWS's schema "
        "checks are missing (illegal escapes in intrinsic functions, callbacks in Express machines) and an unknown "
        "integration is refused in moto's words, without its location",
        definitions.refuses_definitions_as_aws,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution_worker",
        "ExecutionWorker._get_evaluation_environment",
        "$$.Execution.StartTime is a Python datetime (an execution reading $$ cannot be serialised, its history "
        "not read) and $$.Execution.RedriveCount is missing",
        executions.aws_context_object,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution_worker",
        "ExecutionWorker.start",
        "an input nested a few thousand levels deep (valid JSON, within 256 KiB) fails with States.Runtime "
        "(RecursionError) where AWS runs it: execution threads get a deep stack and recursion limit",
        _replacement(executions.deep_execution_threads),
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution_worker",
        "ExecutionWorker._get_evaluation_entrypoint",
        "every execution parses its definition again with ANTLR (about 160 ms of CPU for this workflow, "
        "holding the GIL): the parsed program is cached per definition (pickled) and each execution gets its own copy",
        _replacement(executions.cached_entrypoint),
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "BaseExecutionWorkerCommunication._reflect_execution_status",
        "an execution whose output is a JSON string is described with the bare string instead of its JSON text; "
        "the status is set before the output, so a DescribeExecution in between sees SUCCEEDED without output",
        executions.outputs_json,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "Execution.start",
        "executions never log to CloudWatch Logs (the logging session is always None), so Express executions "
        "leave no trace in their log group as they do on AWS; Express executions get Standard execution ARNs",
        executions.logs_executions,
    ),
    PatchPoint(
        "moto.core.base_backend",
        "BackendDict._create_account_specific_backend",
        "every backend lookup takes a process-wide lock and looks itself up in a list of BackendDicts by value "
        "(dict equality over all their contents): concurrent executions queue on it",
        concurrency.fast_backend_lookup,
    ),
    PatchPoint(
        f"{_SFN}.component.program.program",
        "Program.eval",
        "every thread an execution starts stays in moto's TMP_THREADS list for good: a long-running engine "
        "keeps thousands of finished threads, which each full garbage collection scans",
        concurrency.forgets_finished_threads,
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.call_action",
        "conditional writes are checked and applied without a lock while executions run on threads",
        concurrency.serialised_dynamodb,
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.call_action",
        "(after the lock above, so it wraps it) any number of requests per item per second is served, and ConsumedCapacity "
        "is a fixed figure (0.5 for every GetItem); DynamoDB counts units by item size and consistency and refuses more "
        "than 3,000 read or 1,000 write units per second on one partition key (ProvisionedThroughputExceededException)",
        item_throughput.limits_item_throughput,
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.call_action",
        "(outermost, so outside the lock above) a fault's callback that holds a DynamoDB request would hold every other "
        "DynamoDB request with it, and no interleaving could be forced while it waits",
        fault_injection.faulty_dynamodb_call_action,
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.put_item",
        "a missing Item is an internal error and a table name with illegal characters a ResourceNotFoundException; AWS answers a ValidationException naming the member; "
        "a number DynamoDB cannot hold is checked in floating point (1E+126 passes) and never for its digits (so in GetItem, UpdateItem and DeleteItem too)",
        dynamodb_requests.as_on_aws("PutItem"),
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.get_item",
        "a missing Key is an internal error (AWS: ValidationException, 'Member must not be null'); illegal table names are not refused",
        dynamodb_requests.as_on_aws("GetItem"),
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.update_item",
        "ConsumedCapacity is returned although the request did not ask for it; a missing Key is an internal error",
        dynamodb_requests.as_on_aws("UpdateItem"),
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.delete_item",
        "ConsumedCapacityUnits is returned although the request did not ask for it; a missing Key is an internal error",
        dynamodb_requests.as_on_aws("DeleteItem"),
    ),
    PatchPoint(
        "moto.dynamodb.models.dynamo_type",
        "Item.project",
        "a projection round-trips the whole item through boto3's TypeDeserializer, whose decimal context traps "
        "Rounded: an item holding a number of more than 38 digits with trailing zeros (1e38, which DynamoDB holds) "
        "makes every projected read an internal error",
        _replacement(dynamodb_numbers.project),
    ),
    *(
        PatchPoint(
            "moto.dynamodb.responses",
            f"DynamoHandler.{operation}",
            "a number DynamoDB cannot hold (more than 38 significant digits, beyond 1E-130 to 9.99...E+125) is "
            "accepted; moto checks PutItem's item only, in floating point",
            dynamodb_numbers.refuses_numbers_it_cannot_hold,
        )
        for operation in ("query", "scan", "batch_write_item", "transact_write_items", "batch_get_item", "transact_get_items")
    ),
    PatchPoint(
        "moto.events.models",
        "EventsBackend.put_events",
        "an entry whose Detail is JSON but not an object is accepted, then fails delivery with a JSON error",
        eventbridge.refuses_details_that_are_not_objects,
    ),
    PatchPoint(
        "moto.events.utils",
        "EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE",
        "events delivered to a rule's targets have no 'account' field",
        _replacement(eventbridge.DELIVERED_EVENT_TEMPLATE),
    ),
    PatchPoint(
        "moto.dynamodb.comparisons",
        "ConditionExpressionParser._assert",
        "a condition expression with a syntax error raises a bare ValueError (an internal error) instead of AWS's "
        "ValidationException, so a request that can never succeed looks like an outage",
        _replacement(dynamodb_expressions.condition_syntax_error),
    ),
    PatchPoint(
        "moto.core.responses",
        "BaseResponse.call_action",
        "no way to make a service fail on purpose: the engine's FaultInjector answers matching requests "
        "(DynamoDB throttling, EventBridge outages...) with an AWS error instead",
        fault_injection.faulty_call_action,
    ),
    PatchPoint(
        "moto.awslambda.models",
        "LambdaFunction.invoke",
        "invoking a function needs Docker, and the invoke's ClientContext never reaches the handler",
        _replacement(lambda_invoke.lambda_invoke),
    ),
    PatchPoint(
        "moto.awslambda.models",
        "LambdaBackend.invoke",
        "invoking a missing function without a qualifier says 'Function not found: ...:function:NAME'; Lambda names "
        "the version asked for (...:NAME:$LATEST)",
        lambda_invoke.names_the_latest_version,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.lambda_eval_utils",
        "to_payload_type",
        "a JSON null input of a function-ARN task is sent to the function as {} (AWS sends null)",
        lambda_invoke.payload_bytes,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_lambda",
        "StateTaskServiceLambda._normalise_parameters",
        "(with to_payload_type) a lambda:invoke task's null Payload must still reach the function as {}: the SDK "
        "leaves the null member out of the Invoke request",
        lambda_invoke.omits_a_null_payload,
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.lambda_eval_utils",
        "execute_lambda_function_integration",
        "a Lambda task's result (lambda:invoke, or the payload of a function-ARN task) lacks the SDK metadata AWS returns (SdkHttpMetadata, SdkResponseMetadata, "
        "ExecutedVersion), and a payload such as NaN that is not JSON is parsed into a value JSON cannot carry",
        _replacement(sdk_metadata.lambda_invoke_integration),
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_dynamodb",
        "StateTaskServiceDynamoDB._eval_service_task",
        "a DynamoDB task's result lacks the SDK metadata AWS returns (SdkHttpMetadata, SdkResponseMetadata)",
        _replacement(sdk_metadata.dynamodb_task),
    ),
    PatchPoint(
        "moto.ssm.models",
        "Parameter",
        "AWS's public parameters (/aws/service/...) cannot be written through the API and moto bundles only a "
        "few; put_public_parameter adds the ones a template reads to the backend's parameter store (not replaced)",
        None,
    ),
    PatchPoint(
        "moto.cloudformation.parsing",
        "get_model_map",
        "CloudFormation has no AWS::Logs::MetricFilter, AWS::CloudWatch::Alarm, AWS::SQS::QueuePolicy, "
        "AWS::Scheduler::ScheduleGroup or AWS::Scheduler::Schedule: cloudformation_models adds them and this cached map "
        "is refreshed so moto sees them (not replaced)",
        None,
    ),
    PatchPoint(
        "moto.stepfunctions.models",
        "StateMachine.create_from_cloudformation_json",
        "CloudFormation creates state machines in the backend the executor does not read, and ignores "
        "DefinitionS3Location, DefinitionSubstitutions, StateMachineType, logging and tracing",
        _replacement(classmethod(cloudformation.state_machine_from_cloudformation)),
    ),
    PatchPoint(
        "moto.stepfunctions.urls",
        "url_bases",
        "StartSyncExecution goes to the host sync-states.REGION.amazonaws.com (the operation's host prefix), "
        "which Step Functions' URL patterns do not match in process",
        sync_executions.with_sync_url_base,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "Execution._get_start_execution_worker",
        "a Standard execution that starts sends no 'Step Functions Execution Status Change' event (RUNNING) to the "
        "default EventBridge bus, so rules matching source aws.states never fire",
        status_events.announces_the_start,
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "BaseExecutionWorkerCommunication.terminated",
        "a Standard execution that ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) sends no status change event either",
        status_events.announces_the_end,
    ),
    PatchPoint(
        "moto.backend_index",
        "backend_url_patterns",
        "the same sync-states host is attributed to no service when moto routes an in-process request",
        sync_executions.with_sync_url_pattern,
    ),
    PatchPoint(
        "moto.core.responses",
        "BaseResponse._dispatch",
        "an operation moto does not implement raises NotImplementedError: over HTTP an HTTP 500 with a traceback",
        unknown_operations.refuses_unknown_operations,
    ),
)


def check_moto_version() -> None:
    """Refuse to patch a moto the patches were not written for."""
    installed = version("moto")
    if installed != MOTO_VERSION:
        raise UnsupportedMotoVersionError(
            f"the local engine patches moto {MOTO_VERSION}, but moto {installed} is installed; "
            "install the pinned version (pip install -r requirements.txt) or re-check every PatchPoint in "
            "circuit_breaker/local/patches/__init__.py against the new release"
        )


def _install(point: PatchPoint, originals: dict[str, Any]) -> None:
    owner, name = point.resolve()
    assert point.patch is not None
    if point.adds:
        new = point.patch(None)
        new._breaker_added = True
        originals[point.target] = None
        setattr(owner, name, new)
        return
    # Keep a class's raw attribute (a classmethod object, say) so it could be put back as it was.
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    new = point.patch(getattr(owner, name))
    # A target wrapped by several points (in registry order) keeps moto's own attribute as its original.
    originals.setdefault(point.target, original)
    setattr(owner, name, new)
    if point.rebind_imports:
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith(_SFN) and getattr(module, name, None) is original:
                setattr(module, name, new)


def apply(runtime: "LambdaRuntime", clock: EngineClock, faults: "FaultInjector", throughput: "ItemThroughput") -> None:
    """Install every patch point (once per process); later calls swap in the new runtime, clock, faults and throughput."""
    with active.lock:
        current = active.installed()
        if current is not None:
            current.runtime, current.clock, current.faults, current.throughput = runtime, clock, faults, throughput
            return
        check_moto_version()
        originals: dict[str, Any] = {}
        for point in PATCH_POINTS:
            if point.patch is not None:
                _install(point, originals)
        cloudformation_models.register()
        active.set_installed(active.Installed(runtime=runtime, clock=clock, faults=faults, originals=originals, throughput=throughput))


__all__ = [
    "MOTO_VERSION",
    "PATCH_POINTS",
    "PatchPoint",
    "EngineClock",
    "UnsupportedMotoVersionError",
    "apply",
    "check_moto_version",
    "put_public_parameter",
    "substitute_definition",
]
