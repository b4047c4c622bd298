"""Where AWS calls go (AWS itself, or a local engine), and AWS configuration problems said in one line.

A :class:`Connection` is built once per command from the usual AWS configuration (profile,
region, ``AWS_ENDPOINT_URL``) plus the CLI's ``--local`` / ``--endpoint-url`` / ``--region`` /
``--profile``. Misconfiguration (an unknown profile, half a key pair, no region, an endpoint that
does not answer) becomes an :class:`AwsSetupError` whose message says what is wrong and how to fix
it: :func:`explain` turns botocore's exceptions into one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from circuit_breaker.aws.local_state import DEFAULT_LOCAL_ENDPOINT, DEFAULT_LOCAL_REGION, LocalEndpoint

#: Credentials a local engine accepts; nobody should need AWS keys to use one.
LOCAL_KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

_REGION_FIX = "pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or run `aws configure set region eu-west-1`"


def configured_region(region: str | None = None) -> str | None:
    """``region``, else ``AWS_REGION`` (which the aws CLI v2 reads and boto3 does not), else ``None`` (boto3 decides)."""
    return region or os.environ.get("AWS_REGION") or None


def local_client_config(endpoint_url: str | None) -> Config | None:
    """What a boto3 client needs to reach a local engine at ``endpoint_url``; ``None`` for AWS itself.

    botocore sends ``StartSyncExecution`` to the host prefixed ``sync-`` (``sync-127.0.0.1``), which
    resolves nowhere: a client of a local endpoint must not inject host prefixes.
    """
    return Config(inject_host_prefix=False) if endpoint_url else None


class AwsSetupError(Exception):
    """The AWS configuration does not let the command reach AWS (or the local engine); the message says the fix."""


@dataclass(frozen=True)
class Connection:
    """Where AWS calls go: AWS itself, or a local engine at ``endpoint_url``."""

    session: boto3.session.Session
    endpoint_url: str | None = None
    local: bool = False
    """True when talking to a local engine rather than AWS."""

    def client(self, service: str, config: Config | None = None) -> Any:
        """A client of ``service`` where this connection points (a local endpoint gets no host prefixes)."""
        local = local_client_config(self.endpoint_url)
        merged = config.merge(local) if config and local else (config or local)
        try:
            return self.session.client(service, endpoint_url=self.endpoint_url, config=merged)
        except NoRegionError:
            raise AwsSetupError(f"no AWS region configured: {_REGION_FIX}") from None

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def where(self) -> str:
        """Where calls go, for messages: ``the local engine at http://...`` or ``AWS region eu-west-1``."""
        if self.endpoint_url:
            return f"{self.endpoint_url} (region {self.region})"
        profile = self.session.profile_name
        named = f", profile {profile}" if profile and profile != "default" else ""
        return f"AWS region {self.region or '(none configured)'}{named}"

    @classmethod
    def create(
        cls, local: bool = False, endpoint_url: str | None = None, region: str | None = None, profile: str | None = None
    ) -> "Connection":
        """Connect to ``endpoint_url``, to the local engine (``local``), to ``AWS_ENDPOINT_URL`` if set, else to AWS.

        ``local`` follows the endpoint and region of a running ``breaker local up`` (its state file),
        else the default port. A local engine needs no credentials: dummy keys are used when none are
        configured. Raises :class:`AwsSetupError` for an unknown profile.
        """
        running = LocalEndpoint.current() if local or endpoint_url or os.environ.get("AWS_ENDPOINT_URL") else None
        endpoint = endpoint_url or (running.endpoint_url if local and running else None)
        endpoint = endpoint or (DEFAULT_LOCAL_ENDPOINT if local else None) or os.environ.get("AWS_ENDPOINT_URL")
        try:
            session = boto3.session.Session(profile_name=profile, region_name=configured_region(region))
        except ProfileNotFound as error:
            raise explain(error) from None
        if endpoint is None:
            if session.region_name is None:
                raise AwsSetupError(f"no AWS region configured: {_REGION_FIX}")
            return cls(session)
        if region is None and running is not None and running.endpoint_url == endpoint.rstrip("/"):
            region = running.region  # follow the engine's region
        region = region or session.region_name or DEFAULT_LOCAL_REGION
        try:
            credentials = session.get_credentials()
        except PartialCredentialsError:
            credentials = None
        if credentials is None:
            session = boto3.session.Session(region_name=region, **LOCAL_KEYS)
        elif region != session.region_name:
            session = boto3.session.Session(profile_name=profile, region_name=region)
        return cls(session, endpoint.rstrip("/"), local=True)


def explain(error: Exception, connection: Connection | None = None) -> AwsSetupError:
    """One line saying what is wrong with the AWS configuration (or connection) behind ``error``, and the fix."""
    where = connection.where() if connection else "AWS"
    if isinstance(error, AwsSetupError):
        return error
    if isinstance(error, ProfileNotFound):
        profile = error.kwargs.get("profile", "?")
        return AwsSetupError(
            f"AWS profile {profile!r} is not configured: list profiles with `aws configure list-profiles`, "
            f"or create it with `aws configure --profile {profile}`"
        )
    if isinstance(error, PartialCredentialsError):
        return AwsSetupError(
            f"incomplete AWS credentials ({error.kwargs.get('cred_var', 'a key')} is missing from "
            f"{error.kwargs.get('provider', 'the configuration')}): set both AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or unset both and use a profile"
        )
    if isinstance(error, NoCredentialsError):
        return AwsSetupError("no AWS credentials found: run `aws configure` (or `aws sso login`), pass --profile, or use the local engine with --local")
    if isinstance(error, NoRegionError):
        return AwsSetupError(f"no AWS region configured: {_REGION_FIX}")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        url = error.kwargs.get("endpoint_url") or (connection.endpoint_url if connection else None) or "AWS"
        if connection is not None and connection.local:
            return AwsSetupError(f"nothing answers at {url}: start the local engine with `breaker local up` (or check --endpoint-url)")
        return AwsSetupError(f"cannot reach {url}: check your network, proxy and --region")
    if isinstance(error, ReadTimeoutError):
        return AwsSetupError(f"{where} did not answer in time: try again, or check your network")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return AwsSetupError(f"your AWS session has expired ({code}): renew it (`aws sso login`, or new credentials)")
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch"):
            return AwsSetupError(f"AWS does not accept your credentials ({code}): check them with `aws sts get-caller-identity`")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return AwsSetupError(f"access denied at {where}: {message}")
        return AwsSetupError(f"{where} refused the request ({code}): {message}")
    if isinstance(error, BotoCoreError):
        return AwsSetupError(f"AWS call failed at {where}: {error}")
    return AwsSetupError(str(error))
