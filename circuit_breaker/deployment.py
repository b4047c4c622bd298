"""Find a deployed circuit breaker: its state machine, table and log group, from the stack's outputs.

The same lookup serves AWS (after ``cdk deploy``) and the local engine (which deploys the same
template through its CloudFormation), so every command works against either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

#: The sample app's stack name (app.py) and the outputs the stack publishes (stacks/sample_stack.py).
DEFAULT_STACK_NAME = "CircuitBreaker"
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_TABLE_NAME = "CircuitTableName"
OUTPUT_LOG_GROUP_NAME = "ExecutionLogGroupName"
OUTPUT_CALLEES = "RegisteredCallees"
OUTPUT_EVENT_BUS_NAME = "EventBusName"
OUTPUT_EVENT_SOURCE = "EventSource"

#: Where ``breaker local up`` serves the local engine unless told otherwise.
DEFAULT_LOCAL_PORT = 4566
DEFAULT_LOCAL_ENDPOINT = f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}"


class DeploymentNotFoundError(Exception):
    """No circuit-breaker stack could be found where the command looked."""


@dataclass(frozen=True)
class Connection:
    """Where AWS calls go: AWS itself, or a local engine at ``endpoint_url``."""

    session: boto3.session.Session
    endpoint_url: str | None = None
    local: bool = False
    """True when talking to a local engine rather than AWS: no StartSyncExecution, but executions can be described."""

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    @classmethod
    def create(cls, local: bool = False, endpoint_url: str | None = None, region: str | None = None) -> "Connection":
        """Connect to ``endpoint_url``, to the local engine (``local``), to ``AWS_ENDPOINT_URL`` if set, else AWS."""
        endpoint = endpoint_url or (DEFAULT_LOCAL_ENDPOINT if local else None) or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint is None:
            return cls(boto3.session.Session(region_name=region))
        session = boto3.session.Session(region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
        if session.get_credentials() is None:
            # A local engine accepts any credentials; nobody should need AWS keys to use it.
            session = boto3.session.Session(
                region_name=session.region_name, aws_access_key_id="local", aws_secret_access_key="local"
            )
        return cls(session, endpoint, local=True)


@dataclass(frozen=True)
class Deployment:
    """The resources of one deployed circuit breaker."""

    stack_name: str
    state_machine_arn: str
    table_name: str
    log_group_name: str | None = None
    callees: tuple[str, ...] = ()
    """The registered callee names (empty when the stack does not publish them)."""
    event_bus_name: str | None = None
    event_source: str | None = None

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: dict[str, str]) -> "Deployment":
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
        )

    @classmethod
    def discover(cls, connection: Connection, stack_name: str = DEFAULT_STACK_NAME) -> "Deployment":
        """Read the stack's outputs; raises :class:`DeploymentNotFoundError` saying what to do instead."""
        where = connection.endpoint_url or f"AWS region {connection.session.region_name or '(none configured)'}"
        try:
            stacks = connection.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except EndpointConnectionError:
            raise DeploymentNotFoundError(
                f"nothing answers at {connection.endpoint_url}: start the local engine with `breaker local up`"
            ) from None
        except NoCredentialsError:
            raise DeploymentNotFoundError(
                "no AWS credentials: configure them (aws configure), or use the local engine with --local"
            ) from None
        except ClientError as error:
            if "does not exist" in str(error):
                raise DeploymentNotFoundError(
                    f"no stack {stack_name} at {where}: deploy it (`make deploy`), pass --stack NAME, "
                    "or use the local engine (`breaker local up`, then --local)"
                ) from None
            raise DeploymentNotFoundError(f"could not read stack {stack_name} at {where}: {error}") from None
        except BotoCoreError as error:
            raise DeploymentNotFoundError(f"could not reach {where}: {error}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return cls.from_outputs(stack_name, outputs)
