"""The callee registry as the construct bakes it into the definition, and what follows from it: the functions the
workflow may invoke, each callee's metric id, and what the extension knows of each callee.

The entries' wire form is :mod:`circuit_breaker.core.registry`'s (discovery reads it back); this module only
turns :class:`~circuit_breaker.cdk.props.Callee` objects into it and escapes it for the ASL file.
"""

from __future__ import annotations

import json
from typing import Collection, Mapping

from circuit_breaker.cdk.props import Callee, CircuitBreakerProps
from circuit_breaker.core.extension_api import CalleeEntry
from circuit_breaker.core.registry import callee_entry, not_registered, retry_entry  # noqa: F401 - retry_entry re-exported
from circuit_breaker.core.settings import RAMP_START_SHARE, InvalidSettingsError, OnStoreError, RetryPolicy

def invoked_function_arns(callees: Mapping[str, Callee]) -> list[str]:
    """Every function the workflow may invoke: the callees and their fallback functions, nothing else."""
    arns: list[str] = []
    for callee in callees.values():
        for function in (callee.function, callee.fallback.function if callee.fallback else None):
            if function is not None and function.function_arn not in arns:
                arns.append(function.function_arn)
    return arns


def metric_ids(callees: Mapping[str, Callee]) -> dict[str, int]:
    """A small number per callee (1, 2, ... in name order) that the workflow logs to mark its metrics."""
    return {name: index for index, name in enumerate(sorted(callees), start=1)}


def registry_entry(
    callee: Callee,
    default_on_store_error: OnStoreError,
    metric_id: int,
    default_retry: RetryPolicy | None = None,
    health_check_schedule: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """What the state machine knows of one callee (camelCase, as the ASL reads it).

    ``health_check_schedule`` (``scheduleGroup``, ``scheduleName``) is not read by the workflow: it tells
    ``breaker health-check run`` which schedule runs the callee's check.
    """
    return callee_entry(
        callee.function.function_arn,
        callee.settings,
        metric_id=metric_id,
        default_on_store_error=default_on_store_error,
        default_retry=default_retry,
        fallback=callee.fallback.entry() if callee.fallback else None,
        health_check_schedule=health_check_schedule,
    )


def registry_substitution(props: CircuitBreakerProps, health_check_group: str | None = None) -> str:
    """The registry as the body of a JSONata string literal, escaped to sit inside a JSON string of the ASL file.

    The ASL reads it with ``$parse('${Registry}')``. Three readers unescape it in turn: the definition's
    JSON, JSONata's string literal (JSON's escapes), and ``$parse``. So the registry's JSON (ASCII only:
    every other character as ``\\uXXXX``) has its backslashes doubled and its apostrophes written
    ``\\u0027`` for the literal, then is escaped for the definition's JSON. Any value survives that,
    a static fallback answer with quotes included. Function ARNs are CloudFormation tokens here; CDK
    resolves them inside the string.
    """
    ids = metric_ids(props.callees)
    registry = {
        name: registry_entry(
            callee, props.on_store_error, ids[name], props.retry,
            {"scheduleGroup": health_check_group, "scheduleName": name} if health_check_group and callee.settings.health_check else None,
        )
        for name, callee in sorted(props.callees.items())
    }  # fmt: skip
    text = json.dumps(registry, separators=(",", ":"), ensure_ascii=True)
    literal = text.replace("\\", "\\\\").replace("'", "\\u0027")
    return json.dumps(literal)[1:-1]

def extension_entries(props: CircuitBreakerProps, callees: Collection[str] | None = None) -> dict[str, CalleeEntry]:
    """What the extension knows of ``callees`` (all registered ones by default): limits, store policy, fallback."""
    names = sorted(props.callees) if callees is None else sorted(set(callees))
    unknown = [name for name in names if name not in props.callees]
    if not names:
        raise InvalidSettingsError("grant_read_circuits: name at least one callee (or none at all, for every registered one)")
    if unknown:
        raise InvalidSettingsError("grant_read_circuits: " + not_registered(unknown[0], props.callees))
    entries = {}
    for name in names:
        callee = props.callees[name]
        settings = callee.settings
        entries[name] = CalleeEntry(
            max_break_seconds=settings.max_break_seconds,
            probe_lease_seconds=settings.probe_lease_seconds,
            on_store_error=(settings.on_store_error or props.on_store_error).value,
            fallback=callee.fallback is not None,
            read_shards=settings.read_shards,
            circuit_keys=settings.circuit_keys,
            ramp_seconds=settings.ramp_seconds,
            ramp_start_share=RAMP_START_SHARE,
        )
    return entries
