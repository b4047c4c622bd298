"""What the e2e driver asks of the AWS account: who it is, whether CDK is bootstrapped, a stack's marks, deleting it.

:class:`Account` is the interface (the unit tests give the driver a fake); :class:`Boto3Account` is AWS through
boto3, in the region and profile the driver resolved (``--region``/``--profile``, else ``AWS_REGION``,
``AWS_DEFAULT_REGION``, ``AWS_PROFILE`` and the profile's configuration, as every AWS tool resolves them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from stacks.e2e import E2E_OUTPUT_RUN, E2E_TAG, run_id_of

#: The bootstrap version parameter of CDK's default qualifier: present once ``cdk bootstrap`` ran in the region.
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
#: How long a stack may take to settle (an interrupted deploy) and then to delete.
SETTLE_SECONDS = 3600.0
POLL_SECONDS = 10.0


class E2EError(Exception):
    """The driver cannot go on; the message says why and what to do."""


class SetupError(E2EError):
    """Credentials, region or the CDK bootstrap are missing."""


class ForeignStackError(E2EError):
    """A stack the driver did not create: it never deploys over, runs against or deletes one."""


@dataclass(frozen=True)
class StackFacts:
    """What CloudFormation says about a stack."""

    name: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        """No operation running: the stack can be deleted. A stack left ``REVIEW_IN_PROGRESS`` by a deploy
        interrupted before its change set ran waits for nothing, and deletes at once."""
        return self.status == "REVIEW_IN_PROGRESS" or not self.status.endswith("_IN_PROGRESS")


def check_ours(facts: StackFacts) -> None:
    """Raise :class:`ForeignStackError` unless the stack carries the marks of the run its name says.

    An e2e stack's tag (applied from the moment CloudFormation knows the stack) and, once created, its output
    hold the run id of its name; any other stack, or one whose marks disagree, is refused.
    """
    run_id = run_id_of(facts.name)
    tagged = facts.tags.get(E2E_TAG)
    output = facts.outputs.get(E2E_OUTPUT_RUN)
    if tagged != run_id or (output is not None and output != run_id):
        raise ForeignStackError(
            f"stack {facts.name} was not created by the e2e driver (tag {E2E_TAG}={tagged!r}, output {E2E_OUTPUT_RUN}={output!r}; "
            f"expected {run_id!r}): refusing to touch it"
        )


class Account(Protocol):
    """The AWS calls the driver makes."""

    region: str

    def identity(self) -> str:
        """The caller's account id (raises :class:`SetupError` without credentials)."""
        ...

    def bootstrapped(self) -> bool: ...

    def stack(self, name: str) -> StackFacts | None:
        """The stack's facts; ``None`` when there is no such stack (or it is deleted)."""
        ...

    def delete(self, name: str) -> None:
        """Delete the stack and wait until it is gone (raises :class:`E2EError` if it cannot be)."""
        ...


class Boto3Account:
    """The account and region of a boto3 session."""

    def __init__(self, region: str | None, profile: str | None, sleep: Callable[[float], None] = time.sleep) -> None:
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            self._session = boto3.session.Session(profile_name=profile, region_name=region)
        except ProfileNotFound as error:
            raise SetupError(f"{error}: pass --profile with one of your profiles, or set AWS_PROFILE") from None
        if not self._session.region_name:
            raise SetupError("no AWS region: pass --region, set AWS_REGION, or configure one for the profile (aws configure set region ...)")
        self.region: str = self._session.region_name
        self.profile = profile
        self._sleep = sleep
        self.clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self._session.client(service)
        return self.clients[service]

    def identity(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return str(self._client("sts").get_caller_identity()["Account"])
        except (BotoCoreError, ClientError) as error:
            raise SetupError(f"no usable AWS credentials ({error}): sign in (aws sso login, or set keys) and run again") from None

    def bootstrapped(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client("ssm").get_parameter(Name=BOOTSTRAP_PARAMETER)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ParameterNotFound":
                return False
            raise SetupError(f"cannot read the CDK bootstrap version ({BOOTSTRAP_PARAMETER}): {error}") from None
        except BotoCoreError as error:
            raise SetupError(f"cannot read the CDK bootstrap version ({BOOTSTRAP_PARAMETER}): {error}") from None
        return True

    def stack(self, name: str) -> StackFacts | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            found = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if "does not exist" in error.response["Error"].get("Message", ""):
                return None
            raise E2EError(f"cannot describe stack {name}: {error}") from None
        except BotoCoreError as error:
            raise E2EError(f"cannot describe stack {name}: {error}") from None
        if found["StackStatus"] == "DELETE_COMPLETE":
            return None
        return StackFacts(
            name=found["StackName"],
            status=found["StackStatus"],
            tags={t["Key"]: t["Value"] for t in found.get("Tags", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])},
        )

    def delete(self, name: str) -> None:
        facts = self._wait(name, lambda f: f.settled, "settle")
        if facts is None:
            return
        check_ours(facts)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client("cloudformation").delete_stack(StackName=name)
        except (BotoCoreError, ClientError) as error:
            raise E2EError(f"cannot delete stack {name}: {error}") from None
        facts = self._wait(name, lambda f: f.status != "DELETE_IN_PROGRESS", "delete")
        if facts is not None:
            raise E2EError(
                f"stack {name} ended in {facts.status}, not deleted: see its events in the CloudFormation console, "
                f"then run `python -m tools.e2e destroy {name}` again"
            )

    def _wait(self, name: str, done: Callable[[StackFacts], bool], what: str) -> StackFacts | None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            facts = self.stack(name)
            if facts is None or done(facts):
                return facts
            if time.monotonic() > deadline:
                raise E2EError(f"stack {name} did not {what} within {SETTLE_SECONDS:.0f} s (still {facts.status})")
            self._sleep(POLL_SECONDS)
