"""The circuit-breaker extension for functions of the app: its layer, and the grant that configures it.

A function that checks circuits gets ``breaker.extension_layer`` and ``breaker.grant_read_circuits(fn)``:
read-only access to the circuit items of the callees it may check (``GetItem`` only, limited to
those keys), and the variables the extension reads (:mod:`circuit_breaker.core.extension_api`).
"""

from __future__ import annotations

from typing import Mapping

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from circuit_breaker.cdk.assets import extension_layer_code
from circuit_breaker.core.extension_api import (
    CACHE_SECONDS_ENV,
    CALLEES_ENV,
    DEFAULT_CACHE_SECONDS,
    DEFAULT_PORT,
    PORT_ENV,
    TABLE_ENV,
    CalleeEntry,
    ExtensionSettings,
    InvalidExtensionConfigError,
    encode_callees,
)
from circuit_breaker.core.record import item_name_patterns, leading_keys_condition
from circuit_breaker.core.settings import InvalidSettingsError

#: The runtimes whose Python the extension runs on (a separate process: it needs the runtime's python3 and botocore).
EXTENSION_RUNTIMES = (lambda_.Runtime.PYTHON_3_11, lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.PYTHON_3_13, lambda_.Runtime.PYTHON_3_14)
#: Lambda allows 4 KB of environment variables per function; the registry may take half of it.
MAX_CALLEES_VARIABLE_BYTES = 2048


def extension_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """The layer: ``/opt/extensions/circuit-breaker`` and its code (pure Python, any architecture)."""
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(extension_layer_code())),
        compatible_runtimes=list(EXTENSION_RUNTIMES),
        compatible_architectures=[lambda_.Architecture.X86_64, lambda_.Architecture.ARM_64],
        description="Circuit breaker extension: serves circuit states on localhost (port 4270 by default) from a short cache",
    )


def grant_read_circuits(
    table: dynamodb.ITable,
    callees: Mapping[str, CalleeEntry],
    function: lambda_.IFunction,
    *,
    port: int = DEFAULT_PORT,
    cache_seconds: float = DEFAULT_CACHE_SECONDS,
) -> iam.Grant:
    """Let ``function`` read the items of ``callees`` in ``table`` (``GetItem`` only) and configure its extension."""
    try:
        settings = ExtensionSettings(port=port, cache_seconds=cache_seconds)
    except InvalidExtensionConfigError as error:
        raise InvalidSettingsError(f"grant_read_circuits: {error}") from None
    if not isinstance(function, lambda_.Function):
        raise InvalidSettingsError(
            "grant_read_circuits needs a lambda_.Function defined in this app (it sets the function's environment); "
            "for an imported function, grant dynamodb:GetItem on breaker.table and set the CIRCUIT_BREAKER_* variables yourself"
        )
    value = encode_callees(callees)
    if len(value.encode()) > MAX_CALLEES_VARIABLE_BYTES:
        raise InvalidSettingsError(
            f"grant_read_circuits: the registry of {len(callees)} callees takes {len(value.encode())} bytes of the function's 4 KB "
            f"of environment variables (at most {MAX_CALLEES_VARIABLE_BYTES}): name the callees it checks, grant_read_circuits(fn, callees=[...])"
        )
    function.add_environment(TABLE_ENV, table.table_name)
    function.add_environment(CALLEES_ENV, value)
    function.add_environment(PORT_ENV, str(settings.port))
    function.add_environment(CACHE_SECONDS_ENV, f"{settings.cache_seconds:g}")
    return iam.Grant.add_to_principal(
        grantee=function,
        actions=["dynamodb:GetItem"],
        resource_arns=[table.table_arn],
        conditions=leading_keys_condition(
            [p for name, entry in callees.items() for p in item_name_patterns(name, entry.read_shards, entry.circuit_keys)]
        ),
    )
