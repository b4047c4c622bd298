"""A JSONPath (``InputPath``, ``OutputPath``) that selects nothing, worded as AWS words it.

AWS evaluates JSONPath with Jayway JsonPath, whose words depend on where the path breaks: a missing
last property is ``No results for path: $['a']['b']``, a missing property on the way is ``Missing
property in path $['a']`` (recorded by AWS: ``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``,
``test_catch_states_runtime``: ``Invalid path '$.no.such.result.path' : Missing property in path
$['no']``). moto wrote ``No results for path: $['no.such.result.path']`` whatever the break. Paths
other than plain ``$.name.name`` keep moto's words.
"""

from __future__ import annotations

import re
from typing import Any, Callable

_PLAIN_PATH = re.compile(r"\$(\.[A-Za-z0-9_-]+)+")


def jayway_words(json_path: str, data: Any) -> str | None:
    """Jayway's words for a plain ``json_path`` that finds nothing in ``data`` (``None`` if not plain or found)."""
    if not _PLAIN_PATH.fullmatch(json_path):
        return None
    names = json_path[2:].split(".")
    value = data
    for depth, name in enumerate(names):
        if not isinstance(value, dict):
            return None
        if name not in value:
            walked = "$" + "".join(f"['{part}']" for part in names[: depth + 1])
            if depth == len(names) - 1:
                return f"No results for path: {walked}"
            return f"Missing property in path {walked}"
        value = value[name]
    return None


def words_path_failures(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``InputPath._eval_body``/``OutputPath._eval_body``: the failure's Cause in Jayway's words."""

    def _eval_body(self: Any, env: Any) -> None:
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
        from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

        try:
            original(self, env)
        except FailureEventException as failure:
            missing = failure.__context__
            if isinstance(missing, NoSuchJsonPathError):
                words = jayway_words(missing.json_path, missing.data)
                for details in (failure.failure_event.event_details or {}).values():
                    if words and isinstance(details, dict) and "cause" in details:
                        details["cause"] = f"Invalid path '{missing.json_path}' : {words}"
            raise

    return _eval_body
