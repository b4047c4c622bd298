"""The circuit-breaker extension for functions of the app: its layer, and the grant that configures it.

A function that checks circuits gets ``breaker.extension_layer`` and ``breaker.grant_read_circuits(fn)``:
read-only access to the circuit items of the callees it may check (``GetItem`` only, limited to
those keys), and the variables the extension reads (:mod:`circuit_breaker.extension_api`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Collection

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from circuit_breaker.cdk.bundles import extension_layer_code
from circuit_breaker.extension_api import (
    CACHE_SECONDS_ENV,
    CALLEES_ENV,
    DEFAULT_CACHE_SECONDS,
    DEFAULT_PORT,
    MAX_CACHE_SECONDS,
    PORT_ENV,
    TABLE_ENV,
    CalleeEntry,
    encode_callees,
)
from circuit_breaker.settings import InvalidSettingsError

if TYPE_CHECKING:
    from circuit_breaker.cdk.construct import CircuitBreaker

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
        description="Circuit breaker extension: serves circuit states on localhost:4243 from a short cache",
    )


def grant_read_circuits(
    breaker: "CircuitBreaker",
    function: lambda_.IFunction,
    callees: Collection[str] | None = None,
    port: int = DEFAULT_PORT,
    cache_seconds: float = DEFAULT_CACHE_SECONDS,
) -> iam.Grant:
    """Let ``function`` read the circuits of ``callees`` (all registered ones by default) and configure its extension."""
    registered = breaker.props.callees
    names = sorted(registered) if callees is None else sorted(set(callees))
    unknown = [name for name in names if name not in registered]
    if unknown or not names:
        raise InvalidSettingsError(
            f"grant_read_circuits: {', '.join(map(repr, unknown)) or 'no callee'} is not registered; registered: {', '.join(sorted(registered))}"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
        raise InvalidSettingsError(f"grant_read_circuits: port must be from 1024 to 65535, got {port!r}")
    if isinstance(cache_seconds, bool) or not isinstance(cache_seconds, (int, float)) or not 0 <= cache_seconds <= MAX_CACHE_SECONDS or math.isnan(cache_seconds):
        raise InvalidSettingsError(f"grant_read_circuits: cache_seconds must be from 0 to {MAX_CACHE_SECONDS:g}, got {cache_seconds!r}")
    if not isinstance(function, lambda_.Function):
        raise InvalidSettingsError(
            "grant_read_circuits needs a lambda_.Function defined in this app (it sets the function's environment); "
            "for an imported function, grant dynamodb:GetItem on breaker.table and set the CIRCUIT_BREAKER_* variables yourself"
        )
    entries = {}
    for name in names:
        callee = registered[name]
        settings = callee.settings
        entries[name] = CalleeEntry(
            max_break_seconds=settings.max_break_seconds,
            probe_lease_seconds=settings.probe_lease_seconds,
            on_store_error=(settings.on_store_error or breaker.props.on_store_error).value,
            fallback=callee.fallback is not None,
        )
    value = encode_callees(entries)
    if len(value.encode()) > MAX_CALLEES_VARIABLE_BYTES:
        raise InvalidSettingsError(
            f"grant_read_circuits: the registry of {len(names)} callees takes {len(value.encode())} bytes of the function's 4 KB "
            f"of environment variables (at most {MAX_CALLEES_VARIABLE_BYTES}): name the callees it checks, grant_read_circuits(fn, callees=[...])"
        )
    function.add_environment(TABLE_ENV, breaker.table.table_name)
    function.add_environment(CALLEES_ENV, value)
    function.add_environment(PORT_ENV, str(port))
    function.add_environment(CACHE_SECONDS_ENV, f"{cache_seconds:g}")
    return iam.Grant.add_to_principal(
        grantee=function,
        actions=["dynamodb:GetItem"],
        resource_arns=[breaker.table.table_arn],
        conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": names}},
    )
