"""Every point where the local engine changes moto, in one place, pinned to one moto version.

moto's Step Functions executor (ported from LocalStack's interpreter) runs ASL, but not yet the way
AWS does for this workflow. Each :class:`PatchPoint` below names the moto attribute it replaces and
the gap it covers (DESIGN.md section 8). :func:`apply` installs them all; it refuses to run on a
moto version other than :data:`MOTO_VERSION`, and ``tests/test_moto_patches.py`` checks that every
patched attribute still exists, so an upgrade that moves one fails loudly instead of silently
running unpatched.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Callable

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from circuit_breaker.local import cloudformation_models, jsonata_engine
from circuit_breaker.local.cloudwatch_logging import ExecutionLogSession
from circuit_breaker.local.faults import FaultInjector
from circuit_breaker.local.lambda_runtime import FunctionSpec, InvalidClientContextError, LambdaRuntime, decode_client_context

#: The moto release these patches were written against.
MOTO_VERSION = "5.2.5"

_SFN = "moto.stepfunctions.parser.asl"


class UnsupportedMotoVersionError(RuntimeError):
    """The installed moto is not the version the patches were written for."""


@dataclass(frozen=True)
class PatchPoint:
    """One attribute of moto that the engine replaces, and why."""

    module: str
    attribute: str
    gap: str

    @property
    def target(self) -> str:
        return f"{self.module}.{self.attribute}"

    def resolve(self) -> tuple[Any, str]:
        """The object owning the attribute and the attribute's last name; raises if moto moved it."""
        owner: Any = importlib.import_module(self.module)
        *path, name = self.attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if not hasattr(owner, name):
            raise AttributeError(f"{self.target} no longer exists in moto {version('moto')}")
        return owner, name


PATCH_POINTS: tuple[PatchPoint, ...] = (
    PatchPoint(
        f"{_SFN}.component.common.string.string_expression",
        "StringJSONata._eval_body",
        "no JSONata engine (_eval_jsonata is None); variables spliced into expressions as unescaped text; "
        "failures not reported as States.QueryEvaluationError; stand-ins for $parse/$hash/$uuid",
    ),
    PatchPoint(
        f"{_SFN}.component.common.string.string_expression",
        "StringVariableSample._eval_body",
        "variable references ($name) evaluated through the same unescaped text splicing",
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_dynamodb",
        "StateTaskServiceDynamoDB._from_error",
        "a failing expression in a DynamoDB task's Arguments surfaces as DynamoDB.AmazonDynamoDBException",
    ),
    PatchPoint(
        f"{_SFN}.component.state.exec.state_task.service.state_task_service_events",
        "StateTaskServiceEvents._from_error",
        "an EventBridge error (throttling, outage) in an events:putEvents task surfaces as States.Runtime "
        "instead of EventBridge.<code>, so no Catch on States.TaskFailed can handle it",
    ),
    PatchPoint(
        f"{_SFN}.utils.boto_client",
        "boto_client_for",
        "task clients come from boto3's default session, which is not thread-safe",
    ),
    PatchPoint(
        f"{_SFN}.component.common.retry.retrier_decl",
        "RetrierDecl._eval_body",
        "the retrier really sleeps: waits go through the engine's RetryClock (recorded, optionally scaled)",
    ),
    PatchPoint(
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend.start_execution",
        "an execution started without a name is named 'None', so the next one fails with ExecutionAlreadyExists",
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution_worker",
        "ExecutionWorker._get_evaluation_entrypoint",
        "every execution parses its definition again with ANTLR (about 160 ms of CPU for this workflow, "
        "holding the GIL): the parsed program is cached per definition and each execution gets a deep copy",
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "BaseExecutionWorkerCommunication._reflect_execution_status",
        "an execution whose output is a JSON string is described with the bare string instead of its JSON text",
    ),
    PatchPoint(
        "moto.stepfunctions.parser.backend.execution",
        "Execution.start",
        "executions never log to CloudWatch Logs (the logging session is always None), so Express executions "
        "leave no trace in their log group as they do on AWS",
    ),
    PatchPoint(
        "moto.core.base_backend",
        "BackendDict._create_account_specific_backend",
        "every backend lookup takes a process-wide lock and looks itself up in a list of BackendDicts by value "
        "(dict equality over all their contents): concurrent executions queue on it",
    ),
    PatchPoint(
        "moto.dynamodb.responses",
        "DynamoHandler.call_action",
        "conditional writes are checked and applied without a lock while executions run on threads",
    ),
    PatchPoint(
        "moto.core.responses",
        "BaseResponse.call_action",
        "no way to make a service fail on purpose: the engine's FaultInjector answers matching requests "
        "(DynamoDB throttling, EventBridge outages...) with an AWS error instead",
    ),
    PatchPoint(
        "moto.awslambda.models",
        "LambdaFunction.invoke",
        "invoking a function needs Docker, and the invoke's ClientContext never reaches the handler",
    ),
    PatchPoint(
        "moto.ssm.models",
        "Parameter",
        "AWS's public parameters (/aws/service/...) cannot be written through the API and moto bundles only a "
        "few; put_public_parameter adds the ones a template reads to the backend's parameter store (not replaced)",
    ),
    PatchPoint(
        "moto.cloudformation.parsing",
        "get_model_map",
        "CloudFormation has no AWS::Logs::MetricFilter or AWS::CloudWatch::Alarm: cloudformation_models adds "
        "them and this cached map is refreshed so moto sees them (not replaced)",
    ),
    PatchPoint(
        "moto.stepfunctions.models",
        "StateMachine.create_from_cloudformation_json",
        "CloudFormation creates state machines in the backend the executor does not read, and ignores "
        "DefinitionS3Location, DefinitionSubstitutions, StateMachineType, logging and tracing",
    ),
)


class RetryClock:
    """Where the workflow's ``Retry`` waits go: recorded per execution, slept for ``scale`` times as long.

    ``scale=0`` makes retries immediate without changing the definition (tests); ``scale=1`` waits as
    AWS would (demo, benchmarks).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._lock = threading.Lock()
        self._waits: list[dict[str, Any]] = []

    def wait(self, execution_arn: str, state: str, nominal: float, seconds: float) -> None:
        """Record a retry wait (``nominal`` is the backoff before jitter) and sleep for its scaled length."""
        with self._lock:
            self._waits.append({"execution": execution_arn, "state": state, "nominal": nominal, "seconds": seconds})
        if seconds * self.scale > 0:
            threading.Event().wait(seconds * self.scale)

    def waits(self, execution_arn: str | None = None) -> list[dict[str, Any]]:
        """Recorded waits, of one execution or of all."""
        with self._lock:
            return [dict(w) for w in self._waits if execution_arn is None or w["execution"] == execution_arn]


@dataclass
class _Installed:
    runtime: LambdaRuntime
    clock: RetryClock
    faults: FaultInjector
    originals: dict[str, Any]


_installed: _Installed | None = None
_install_lock = threading.Lock()
#: One lock for every DynamoDB request: the backend checks conditions and writes without one.
_dynamodb_lock = threading.RLock()
_client_lock = threading.Lock()
_client_session = boto3.session.Session()
_clients: dict[tuple[str, str, str | None], BaseClient] = {}


def check_moto_version() -> None:
    """Refuse to patch a moto the patches were not written for."""
    installed = version("moto")
    if installed != MOTO_VERSION:
        raise UnsupportedMotoVersionError(
            f"the local engine patches moto {MOTO_VERSION}, but moto {installed} is installed; "
            "install the pinned version (pip install -r requirements.txt) or re-check every PatchPoint in "
            "circuit_breaker/local/moto_patches.py against the new release"
        )


# --- JSONata ---------------------------------------------------------------------------------


def _bindings(env: Any) -> dict[str, Any]:
    store = env.variable_store
    bindings: dict[str, Any] = {**store._outer_scope, **store._inner_scope}
    bindings["states"] = dict(env.states._states_data)
    return bindings


def _query_failure(env: Any, expression: str, message: str) -> Exception:
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error.error_name, cause=message)
    field = getattr(env, "next_field_name", None)
    if field:
        details["location"] = field
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(evaluationFailedEventDetails=details),
        )
    )


def _evaluate(env: Any, expression: str) -> Any:
    try:
        defined, value = jsonata_engine.evaluate(expression, _bindings(env))
    except jsonata_engine.QueryEvaluationError as error:
        raise _query_failure(env, expression, f"An error occurred while evaluating the JSONata expression '{expression}': {error}") from None
    if not defined:
        raise _query_failure(env, expression, f"The JSONata expression '{expression}' returned nothing (undefined).")
    return value


def _string_jsonata_eval_body(self: Any, env: Any) -> None:
    env.stack.append(_evaluate(env, self.expression))


def _variable_sample_eval_body(self: Any, env: Any) -> None:
    env.stack.append(_evaluate(env, self.expression))


# --- Errors of service tasks ------------------------------------------------------------------


def _passes_failure_events(original: Callable[..., Any]) -> Callable[..., Any]:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException

        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return original(self, env, ex)

    return _from_error


_programs: dict[str, Any] = {}
_programs_lock = threading.Lock()


def _cached_entrypoint(self: Any) -> Any:
    """The parsed program of this execution's definition: parsed once, copied per execution."""
    import copy

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:
        program = _programs.get(definition)
        if program is None:
            program = _programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
        # Components keep per-execution state (a Choice's next state, say): never share one.
        return copy.deepcopy(program)


def _names_service_errors(original: Callable[..., Any], prefix: str) -> Callable[..., Any]:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from botocore.exceptions import ClientError
        from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error = f"{prefix}.{ex.response['Error']['Code']}"
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=ex.response["Error"].get("Message", str(ex)),
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    return _from_error


# --- Clients, retries, DynamoDB ---------------------------------------------------------------


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    """A shared client per service and region, created under a lock.

    moto builds a client per task from boto3's default session, which is not thread-safe (and slow:
    each client loads its service model). Clients themselves are thread-safe, so one per service
    serves every execution.
    """
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    endpoint = None if botocore_stubber.enabled else f"http://localhost:{moto_server_port()}"
    key = (service, region, endpoint)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _client_session.client(
                service_name=service,
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=64,
                ),
            )
    return client


def _retrier_eval_body(self: Any, env: Any) -> None:
    """moto's retrier, with the wait handed to the :class:`RetryClock` instead of ``time.sleep``."""
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome

    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    nominal = env.stack[-1]
    self.jitter_strategy.eval(env=env)
    seconds = env.stack.pop()
    context = env.states.context_object.context_object_data
    assert _installed is not None
    _installed.clock.wait(context["Execution"]["Id"], (context.get("State") or {}).get("Name", ""), nominal, seconds)
    env.stack.append(RetrierOutcome.Executed)


def _locked_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(self: Any) -> Any:
        with _dynamodb_lock:
            return original(self)

    return call_action


def _faulty_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(self: Any) -> Any:
        assert _installed is not None
        fault = _installed.faults.match(self.boto3_service_name, self._get_action())
        if fault is None:
            return original(self)
        # JSON protocols read the error type from __type or the x-amzn-ErrorType header.
        body = json.dumps({"__type": fault.error_code, "message": fault.message, "Message": fault.message})
        headers = {"status": fault.status, "x-amzn-ErrorType": fault.error_code, "x-amzn-RequestId": str(uuid.uuid4())}
        return fault.status, headers, body

    return call_action


def _names_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


def _outputs_json(original: Callable[..., Any]) -> Callable[..., Any]:
    def _reflect_execution_status(self: Any) -> None:
        original(self)
        if self.execution.exec_status == "SUCCEEDED" and isinstance(self.execution.output, str):
            # DescribeExecution returns a str output verbatim (it takes it for JSON text): encode it.
            self.execution.output = json.dumps(self.execution.output)

    return _reflect_execution_status


def _logs_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    def start(self: Any) -> None:
        if self._cloud_watch_logging_session is None:
            self._cloud_watch_logging_session = ExecutionLogSession.for_execution(self)
        original(self)

    return start


def _fast_backend_lookup(original: Callable[..., Any]) -> Callable[..., Any]:
    def _create_account_specific_backend(self: Any, account_id: str) -> None:
        # dict.__contains__ needs no lock; the slow path runs once per account (and again after a reset).
        if dict.__contains__(self, account_id) and self.__dict__.get("_breaker_registered"):
            return
        original(self, account_id)
        self.__dict__["_breaker_registered"] = True

    return _create_account_specific_backend


# --- Lambda -----------------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _lambda_invoke(self: Any, body: Any, request_headers: Any, response_headers: dict[str, str]) -> bytes:
    """Run the function's handler in this process (moto would start a Docker container)."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    assert _installed is not None
    try:
        client_context = decode_client_context(_header(request_headers, "X-Amz-Client-Context"))
    except InvalidClientContextError as error:
        raise InvalidParameterValueException(str(error)) from None
    event = json.loads(body) if body else {}
    spec = FunctionSpec(
        function_name=self.function_name,
        function_arn=self.function_arn,
        handler=self.handler,
        code_zip=self.code_bytes,
        environment=dict(self.environment_vars or {}),
        timeout_seconds=float(self.timeout),
        memory_mb=int(self.memory_size),
        version=str(self.version),
        region=self.region,
        runtime=str(self.run_time),
    )
    runtime = _installed.runtime

    def run() -> Any:
        outcome = runtime.invoke(spec, event, client_context)
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(outcome.log)
        return outcome

    if _header(request_headers, "X-Amz-Invocation-Type") == "Event":
        threading.Thread(target=run, name=f"lambda-event-{self.function_name}", daemon=True).start()
        return b""
    outcome = run()
    if outcome.function_error:
        response_headers["x-amz-function-error"] = outcome.function_error
    response_headers["x-amz-log-result"] = base64.b64encode(outcome.log.encode()[-4096:]).decode()
    return outcome.payload


# --- CloudFormation -> Step Functions -------------------------------------------------------

_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """Apply ``DefinitionSubstitutions`` as CloudFormation does: each ``${key}`` becomes its value."""
    return _SUBSTITUTION.sub(
        lambda match: str(substitutions[match.group(1)]) if match.group(1) in substitutions else match.group(0),
        definition,
    )


def _api_logging(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    return {
        "level": config.get("Level", "OFF"),
        "includeExecutionData": bool(config.get("IncludeExecutionData", False)),
        "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": d.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")}}
            for d in config.get("Destinations", [])
        ],
    }


def _state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    from moto.s3.models import s3_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.utils import get_partition

    properties = cloudformation_json["Properties"]
    if "DefinitionS3Location" in properties:
        location = properties["DefinitionS3Location"]
        key = s3_backends[account_id][get_partition(region_name)].get_object(location["Bucket"], location["Key"])
        definition = key.value.decode("utf-8")
    elif "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    else:
        definition = properties.get("DefinitionString", "")
    definition = substitute_definition(definition, properties.get("DefinitionSubstitutions") or {})
    tracing = properties.get("TracingConfiguration")
    return stepfunctions_parser_backends[account_id][region_name].create_state_machine(
        name=properties.get("StateMachineName") or resource_name,
        definition=definition,
        roleArn=properties.get("RoleArn", ""),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        loggingConfiguration=_api_logging(properties.get("LoggingConfiguration")),
        tracingConfiguration={"enabled": bool(tracing.get("Enabled"))} if tracing else None,
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def put_public_parameter(account: str, region: str, name: str, value: str) -> None:
    """Add an AWS-owned SSM parameter (such as a public layer's ARN) to the local account."""
    from moto.ssm.models import Parameter, ssm_backends
    from moto.core.utils import utcnow

    backend = ssm_backends[account][region]
    backend._parameters[name].append(
        Parameter(
            account_id=account,
            name=name,
            value=value,
            parameter_type="String",
            description="public parameter provided by the local engine",
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=len(backend._parameters[name]) + 1,
            data_type="text",
        )
    )


# --- Installation ---------------------------------------------------------------------------


def _replace(point: PatchPoint, new: Any, originals: dict[str, Any]) -> None:
    owner, name = point.resolve()
    originals[point.target] = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, new)


def apply(runtime: LambdaRuntime, clock: RetryClock, faults: FaultInjector) -> None:
    """Install every patch point (once per process); later calls swap in the new runtime, clock and faults."""
    global _installed
    with _install_lock:
        if _installed is not None:
            _installed.runtime, _installed.clock, _installed.faults = runtime, clock, faults
            return
        check_moto_version()
        originals: dict[str, Any] = {}

        def point(attribute: str) -> PatchPoint:
            return next(p for p in PATCH_POINTS if p.attribute == attribute)

        def wrap(attribute: str, make: Callable[[Any], Any]) -> None:
            """Replace an attribute by ``make(original)``: a wrapper that calls the original."""
            patch = point(attribute)
            owner, name = patch.resolve()
            _replace(patch, make(getattr(owner, name)), originals)

        _replace(point("StringJSONata._eval_body"), _string_jsonata_eval_body, originals)
        _replace(point("StringVariableSample._eval_body"), _variable_sample_eval_body, originals)
        wrap("StateTaskServiceDynamoDB._from_error", _passes_failure_events)
        wrap("StateTaskServiceEvents._from_error", lambda original: _names_service_errors(original, "EventBridge"))

        client_point = point("boto_client_for")
        original_client_for = client_point.resolve()[0].boto_client_for
        _replace(client_point, _boto_client_for, originals)
        # Modules that imported the function by name hold their own reference to it.
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith(_SFN) and getattr(module, "boto_client_for", None) is original_client_for:
                module.boto_client_for = _boto_client_for

        _replace(point("RetrierDecl._eval_body"), _retrier_eval_body, originals)
        _replace(point("ExecutionWorker._get_evaluation_entrypoint"), _cached_entrypoint, originals)
        wrap("StepFunctionsParserBackend.start_execution", _names_executions)
        wrap("Execution.start", _logs_executions)
        wrap("BaseExecutionWorkerCommunication._reflect_execution_status", _outputs_json)
        wrap("BackendDict._create_account_specific_backend", _fast_backend_lookup)
        wrap("DynamoHandler.call_action", _locked_call_action)
        _replace(point("LambdaFunction.invoke"), _lambda_invoke, originals)
        wrap("BaseResponse.call_action", _faulty_call_action)
        _replace(
            point("StateMachine.create_from_cloudformation_json"),
            classmethod(_state_machine_from_cloudformation),
            originals,
        )
        cloudformation_models.register()
        _installed = _Installed(runtime=runtime, clock=clock, faults=faults, originals=originals)
