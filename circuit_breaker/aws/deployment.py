"""Find a deployed circuit breaker, in any stack: its state machine, table, log group, event bus and callees.

A breaker is found from its state machine's ARN alone (:meth:`Deployment.from_state_machine`):
the definition names the table, the callee registry (with each callee's settings) and the event
bus (:mod:`circuit_breaker.aws.definition`); the logging configuration names the log group.
:meth:`Deployment.discover` finds that ARN by a stack's name (its outputs, else the tagged state
machine among its resources), takes it as given, or finds the one breaker in the region by the
construct's tag (``circuit-breaker``). The same lookups serve AWS and the local engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from circuit_breaker.aws.connection import AwsSetupError, Connection, explain
from circuit_breaker.aws.definition import DefinitionError, read_definition
from circuit_breaker.aws.local_state import DEFAULT_LOCAL_ENDPOINT, DEFAULT_LOCAL_PORT  # noqa: F401 - re-exported
from circuit_breaker.core.record import BreakLimits
from circuit_breaker.core.registry import (  # noqa: F401 - DEFAULT_STACK_NAME and DISCOVERY_TAG re-exported
    DEFAULT_STACK_NAME,
    DISCOVERY_TAG,
    OUTPUT_CALLEES,
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_EVENT_BUS_NAME,
    OUTPUT_EVENT_SOURCE,
    OUTPUT_LOG_GROUP_NAME,
    OUTPUT_STATE_MACHINE_ARN,
    OUTPUT_TABLE_NAME,
    RegisteredCallee,
)

_STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_.-]{1,80}\Z")
_PICK = "pick one with --state-machine-arn ARN (or --stack NAME)"


class DeploymentNotFoundError(Exception):
    """No circuit breaker could be found where the command looked; the message says where else to look."""


class AmbiguousDeploymentError(DeploymentNotFoundError):
    """Several breakers match; ``candidates`` lists their state machine ARNs (and construct paths)."""

    def __init__(self, message: str, candidates: Mapping[str, str]) -> None:
        super().__init__(message)
        self.candidates = dict(candidates)


def check_state_machine_arn(arn: str) -> str:
    """Return ``arn`` if it is a state machine ARN, else raise :class:`DeploymentNotFoundError` saying the form."""
    if not _STATE_MACHINE_ARN.fullmatch(arn):
        raise DeploymentNotFoundError(
            f"{arn!r} is not a state machine ARN; expected arn:aws:states:REGION:ACCOUNT:stateMachine:NAME"
        )
    return arn


def _log_group_name(logging_configuration: Mapping[str, Any] | None) -> str | None:
    """The log group of ``describe_state_machine``'s ``loggingConfiguration`` (ARN ``...:log-group:NAME:*``)."""
    for destination in (logging_configuration or {}).get("destinations") or []:
        arn = ((destination or {}).get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") or ""
        if ":log-group:" in arn:
            name = arn.split(":log-group:", 1)[1]
            return name[:-2] if name.endswith(":*") else name
    return None


@dataclass(frozen=True)
class Deployment:
    """The resources of one deployed circuit breaker, and its callee registry when known."""

    state_machine_arn: str
    table_name: str
    stack_name: str | None = None
    """The stack it was found in (``None`` when found by ARN or tag)."""
    log_group_name: str | None = None
    callees: tuple[str, ...] = ()
    """The registered callee names (empty when unknown: then the workflow judges every name)."""
    event_bus_name: str | None = None
    event_source: str | None = None
    registry: Mapping[str, RegisteredCallee] = field(default_factory=lambda: MappingProxyType({}))
    """Each registered callee's function and settings, as baked into the definition (empty when unknown)."""
    construct_path: str | None = None
    """The construct's path in its CDK app (the discovery tag's value), when known."""
    dead_letter_queue_url: str | None = None
    """Where failed asynchronous calls wait for ``breaker redrive``, when known."""

    @property
    def name(self) -> str:
        """How to name this breaker in messages: its stack, construct path, or state machine name."""
        return self.stack_name or self.construct_path or self.state_machine_arn.rsplit(":", 1)[-1]

    def limits(self, callee: str) -> BreakLimits | None:
        """The callee's longest break and lease (for :func:`circuit_breaker.core.record.decode`), when known."""
        registered = self.registry.get(callee)
        return registered.limits if registered else None

    def knows(self, callee: str) -> bool | None:
        """Whether ``callee`` is registered; ``None`` when the registry is unknown."""
        return (callee in self.callees) if self.callees else None

    def read_shards(self, callee: str) -> int:
        """How many items each of the callee's circuits is kept on (1 when unknown)."""
        registered = self.registry.get(callee)
        return registered.read_shards if registered else 1

    def keyed(self, callee: str) -> bool | None:
        """Whether calls to ``callee`` may name a circuit key; ``None`` when the registry is unknown."""
        registered = self.registry.get(callee)
        return registered.circuit_keys if registered else None

    # -- building ------------------------------------------------------------------------------------------

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: Mapping[str, str]) -> "Deployment":
        """From the sample stack's outputs (names only, no callee settings)."""
        missing = [key for key in (OUTPUT_STATE_MACHINE_ARN, OUTPUT_TABLE_NAME) if key not in outputs]
        if missing:
            raise DeploymentNotFoundError(
                f"stack {stack_name} has no output(s) {', '.join(missing)}: is it a circuit-breaker stack?"
            )
        return cls(
            stack_name=stack_name,
            state_machine_arn=outputs[OUTPUT_STATE_MACHINE_ARN],
            table_name=outputs[OUTPUT_TABLE_NAME],
            log_group_name=outputs.get(OUTPUT_LOG_GROUP_NAME),
            callees=tuple(name for name in outputs.get(OUTPUT_CALLEES, "").split(",") if name),
            event_bus_name=outputs.get(OUTPUT_EVENT_BUS_NAME),
            event_source=outputs.get(OUTPUT_EVENT_SOURCE),
            dead_letter_queue_url=outputs.get(OUTPUT_DEAD_LETTER_QUEUE_URL),
        )

    @classmethod
    def from_description(
        cls, description: Mapping[str, Any], stack_name: str | None = None, construct_path: str | None = None
    ) -> "Deployment":
        """From ``describe_state_machine``'s answer; raises :class:`DeploymentNotFoundError` if it is not a breaker."""
        arn = description["stateMachineArn"]
        try:
            facts = read_definition(description["definition"])
        except (DefinitionError, ValueError, TypeError) as error:
            raise DeploymentNotFoundError(f"{arn} is not a circuit breaker's state machine: {error}") from None
        return cls(
            state_machine_arn=arn,
            table_name=facts.table_name,
            stack_name=stack_name,
            log_group_name=_log_group_name(description.get("loggingConfiguration")),
            callees=tuple(facts.registry),
            event_bus_name=facts.event_bus_name,
            event_source=facts.event_source,
            registry=facts.registry,
            construct_path=construct_path,
            dead_letter_queue_url=facts.dead_letter_queue_url,
        )

    @classmethod
    def from_state_machine(
        cls, connection: Connection, state_machine_arn: str, stack_name: str | None = None
    ) -> "Deployment":
        """Everything about the breaker whose state machine is ``state_machine_arn`` (one or two API calls)."""
        check_state_machine_arn(state_machine_arn)
        sfn = connection.client("stepfunctions")
        description = _call(connection, lambda: sfn.describe_state_machine(stateMachineArn=state_machine_arn), state_machine_arn)
        path = None
        try:
            tags = sfn.list_tags_for_resource(resourceArn=state_machine_arn).get("tags", [])
            path = next((t["value"] for t in tags if t.get("key") == DISCOVERY_TAG), None)
        except (ClientError, BotoCoreError):
            pass  # the tag only names the breaker; reading it may be denied
        return cls.from_description(description, stack_name, path)

    @classmethod
    def discover(
        cls, connection: Connection, stack_name: str | None = None, state_machine_arn: str | None = None
    ) -> "Deployment":
        """The breaker named by ``state_machine_arn``, or in stack ``stack_name``, or the only one in the region.

        Raises :class:`DeploymentNotFoundError` (:class:`AmbiguousDeploymentError` when several match)
        with a message saying what to pass instead, or :class:`~circuit_breaker.aws.connection.AwsSetupError`
        when AWS cannot be reached.
        """
        if state_machine_arn:
            return cls.from_state_machine(connection, state_machine_arn, stack_name)
        if stack_name:
            return cls._in_stack(connection, stack_name)
        return cls._in_region(connection)

    @classmethod
    def _in_stack(cls, connection: Connection, stack_name: str) -> "Deployment":
        cloudformation = connection.client("cloudformation")
        stacks = _call(connection, lambda: cloudformation.describe_stacks(StackName=stack_name)["Stacks"], f"stack {stack_name}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        arn = outputs.get(OUTPUT_STATE_MACHINE_ARN)
        if arn is None:
            resources = _call(
                connection,
                lambda: _paged(cloudformation.list_stack_resources, "StackResourceSummaries", StackName=stack_name),
                f"stack {stack_name}",
            )
            machines = [r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::StepFunctions::StateMachine"]
            tagged = _tagged(connection, machines)
            if not tagged:
                raise DeploymentNotFoundError(
                    f"stack {stack_name} holds no circuit breaker (no state machine tagged {DISCOVERY_TAG!r}) at {connection.where()}"
                )
            if len(tagged) > 1:
                raise _ambiguous(f"stack {stack_name} holds {len(tagged)} circuit breakers", tagged)
            arn = next(iter(tagged))
        try:
            return cls.from_state_machine(connection, arn, stack_name)
        except DeploymentNotFoundError:
            if OUTPUT_TABLE_NAME in outputs:
                return cls.from_outputs(stack_name, outputs)  # a definition this version cannot read: outputs suffice
            raise

    @classmethod
    def _in_region(cls, connection: Connection) -> "Deployment":
        tagging = connection.client("resourcegroupstaggingapi")
        mappings = _call(
            connection,
            lambda: _paged(
                tagging.get_resources,
                "ResourceTagMappingList",
                token="PaginationToken",
                TagFilters=[{"Key": DISCOVERY_TAG}],
                ResourceTypeFilters=["states:stateMachine"],
            ),
            "the tagged circuit breakers",
        )
        found = {
            m["ResourceARN"]: next((t["Value"] for t in m.get("Tags", []) if t.get("Key") == DISCOVERY_TAG), "")
            for m in mappings
            if ":stateMachine:" in m.get("ResourceARN", "")
        }
        if not found:
            raise DeploymentNotFoundError(
                f"no circuit breaker at {connection.where()}: deploy one (`make deploy`), pass --stack NAME or "
                "--state-machine-arn ARN, or use the local engine (`breaker local up`, then --local)"
            )
        if len(found) > 1:
            raise _ambiguous(f"{len(found)} circuit breakers at {connection.where()}", found)
        arn, path = next(iter(found.items()))
        deployment = cls.from_state_machine(connection, arn)
        return deployment if deployment.construct_path else _with_path(deployment, path)


def _with_path(deployment: Deployment, path: str) -> Deployment:
    return replace(deployment, construct_path=path or None)


def _ambiguous(what: str, candidates: Mapping[str, str]) -> AmbiguousDeploymentError:
    listed = "; ".join(f"{arn} ({path})" if path else arn for arn, path in sorted(candidates.items()))
    return AmbiguousDeploymentError(f"{what}: {listed}; {_PICK}", candidates)


def _tagged(connection: Connection, arns: list[str]) -> dict[str, str]:
    """The state machines among ``arns`` that carry the discovery tag, with its value."""
    sfn = connection.client("stepfunctions")
    found = {}
    for arn in arns:
        tags = _call(connection, lambda: sfn.list_tags_for_resource(resourceArn=arn).get("tags", []), arn)
        for tag in tags:
            if tag.get("key") == DISCOVERY_TAG:
                found[arn] = tag.get("value", "")
    return found


def _paged(operation: Any, key: str, token: str = "NextToken", **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = operation(**kwargs)
        items.extend(page.get(key, []))
        next_token = page.get(token)
        if not next_token:
            return items
        kwargs[token] = next_token


def _call(connection: Connection, request: Any, what: str) -> Any:
    """Run one discovery request; turn "does not exist" into :class:`DeploymentNotFoundError`, the rest into :func:`explain`."""
    try:
        return request()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("StateMachineDoesNotExist", "ResourceNotFoundException") or "does not exist" in message:
            if what.startswith("stack "):
                raise DeploymentNotFoundError(
                    f"no {what} at {connection.where()}: deploy it (`make deploy`), check --stack and --region, "
                    "or use the local engine (`breaker local up`, then --local)"
                ) from None
            raise DeploymentNotFoundError(f"no state machine {what} at {connection.where()}: check the ARN and --region") from None
        raise explain(error, connection) from None
    except (BotoCoreError, AwsSetupError) as error:
        raise explain(error, connection) from None


__all__ = [
    "AmbiguousDeploymentError",
    "Connection",
    "DEFAULT_LOCAL_ENDPOINT",
    "DEFAULT_LOCAL_PORT",
    "DEFAULT_STACK_NAME",
    "DISCOVERY_TAG",
    "Deployment",
    "DeploymentNotFoundError",
    "check_state_machine_arn",
]
