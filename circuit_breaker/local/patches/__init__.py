"""Every point where the local engine changes moto, named in one registry, pinned to one moto version.

moto's Step Functions executor (ported from LocalStack's interpreter) runs ASL, but not yet the way
AWS does. Each :class:`PatchPoint` in :data:`PATCH_POINTS` names the moto attribute it replaces, the
gap it covers (the README's *The local engine*) and the function of this package that covers it; the modules
beside this one hold those functions, one concern each:

- ``jsonata``: JSONata expressions evaluated with real bindings, failures as AWS names them
- ``service_errors``: errors of service-integration tasks (DynamoDB, EventBridge) named as on AWS
- ``choice``: Choice states' state-level ``Assign`` applied whichever rule matches
- ``executions``: names, parsed-definition cache, output encoding, CloudWatch logging
- ``waits``: ``Retry`` backoff and ``Wait`` states on the engine's :class:`EngineClock`
- ``concurrency``: thread-safe clients, backend lookups, serialised DynamoDB requests, finished threads forgotten
- ``dynamodb_expressions``: a DynamoDB expression that does not parse is AWS's ValidationException
- ``fault_injection``: service errors on purpose (the engine's :class:`FaultInjector`)
- ``lambda_invoke``: handlers run in-process instead of in Docker, with their ClientContext
- ``sdk_metadata``: integration results with the SDK's HTTP metadata, Lambda payloads read as strict JSON
- ``cloudformation``: state machines and public parameters from a synthesized template
- ``sync_executions``: ``StartSyncExecution`` (Express machines answer synchronously), as AWS answers it
- ``unknown_operations``: an API moto lacks answers a 4xx naming it, not a 500 with a traceback

:func:`apply` installs them all; it refuses to run on a moto version other than :data:`MOTO_VERSION`,
and ``tests/test_moto_patches.py`` checks that every patched attribute still exists, so an upgrade that
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
    choice,
    cloudformation,
    concurrency,
    dynamodb_expressions,
    executions,
    fault_injection,
    jsonata,
    lambda_invoke,
    sdk_metadata,
    service_errors,
    sync_executions,
    unknown_operations,
    waits,
)
from circuit_breaker.local.patches.cloudformation import put_public_parameter, substitute_definition
from circuit_breaker.local.patches.waits import EngineClock

if TYPE_CHECKING:
    from circuit_breaker.local.faults import FaultInjector
    from circuit_breaker.local.lambda_runtime import LambdaRuntime

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
        _replacement(jsonata.state_field_name),
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
        "instead of EventBridge.<code>, so no Catch on States.TaskFailed can handle it",
        service_errors.names_service_errors("EventBridge"),
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
        "Wait states really sleep: they go through the engine's EngineClock (recorded, optionally scaled)",
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
        "a definition the parser refuses is answered with an empty error code instead of InvalidDefinition",
        executions.names_definition_errors,
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
        f"{_SFN}.component.state.exec.state_task.lambda_eval_utils",
        "to_payload_type",
        "a JSON null payload is sent to the function as {} (AWS sends null)",
        lambda_invoke.payload_bytes,
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
        "CloudFormation has no AWS::Logs::MetricFilter or AWS::CloudWatch::Alarm: cloudformation_models adds "
        "them and this cached map is refreshed so moto sees them (not replaced)",
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
    originals[point.target] = original
    setattr(owner, name, new)
    if point.rebind_imports:
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith(_SFN) and getattr(module, name, None) is original:
                setattr(module, name, new)


def apply(runtime: "LambdaRuntime", clock: EngineClock, faults: "FaultInjector") -> None:
    """Install every patch point (once per process); later calls swap in the new runtime, clock and faults."""
    with active.lock:
        current = active.installed()
        if current is not None:
            current.runtime, current.clock, current.faults = runtime, clock, faults
            return
        check_moto_version()
        originals: dict[str, Any] = {}
        for point in PATCH_POINTS:
            if point.patch is not None:
                _install(point, originals)
        cloudformation_models.register()
        active.set_installed(active.Installed(runtime=runtime, clock=clock, faults=faults, originals=originals))


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
