"""State machine definitions refused at creation, as AWS refuses them (``InvalidDefinition``).

AWS checks a definition against its schema before accepting it and names each problem with the place
in the definition, in one message: ``Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: <what>
at /States/<State>/<Field>'``. Recorded by AWS (../shared/parity):

- an integration that does not exist (``arn:aws:states:::dynamodb:query``) is "not recognized"
  (``../shared/parity/localstack-sfn/v2/services/test_dynamodb_task_service.snapshot.json``, ``test_invalid_integration``); moto refused it with its own
  ``Error=ValueError Args=[...]`` text and no location;
- an intrinsic function whose quoted text holds an escape other than ``\\'``, ``\\{``, ``\\}`` and ``\\\\``
  is not "a valid JSONPath or a valid intrinsic function call" (``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``,
  ``test_illegal_escapes``); moto accepted it;
- an Express machine cannot wait for a task token, run ``.sync`` or use an activity
  (``../shared/parity/localstack-sfn/v2/test_sfn_api_express.snapshot.json``, ``test_illegal_callbacks``, ``test_illegal_activity_task``; the messages are
  AWS's, the double space of the first one included); moto accepted them.

A definition the parser refuses for any other reason stays refused with the parser's words, now under the
``InvalidDefinition`` error code (moto's HTTP layer answered its own exception type with an empty code).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

_INTRINSIC_ESCAPES = set("'{}\\")
_UNRECOGNISED = re.compile(r"The resource provided (?P<arn>\S+) not recognized\.")
#: What an Express machine cannot run, by how its Resource ends: (suffix, AWS's words).
_EXPRESS_REFUSED = (
    (".waitForTaskToken", "Express state machine does not support '.waitForTaskToken' service integration  at {at}"),
    (".sync", "Express state machine does not support '.sync' service integration at {at}"),
)
_EXPRESS_ACTIVITY = "Express state machine does not support Activity ARN at {at}"
#: Fields whose ``<key>.$`` values are paths or intrinsic functions (a Pass state's ``Result`` is a literal).
_PAYLOAD_FIELDS = ("Parameters", "ResultSelector", "ItemSelector")


class DefinitionRefusedError(ValueError):
    """The definition breaks AWS's schema; ``problems`` are AWS's words for each break."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(", ".join(f"SCHEMA_VALIDATION_FAILED: {problem}" for problem in problems))
        self.problems = problems


def _invalid_definition(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class InvalidDefinitionError(AWSError):
        TYPE = "InvalidDefinition"
        STATUS = 400

    return InvalidDefinitionError(message)


def states_of(definition: Any, at: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every state of ``definition`` (branches and item processors included): (name, location, state)."""
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{at}/States/{name}"
        yield name, here, state
        for index, branch in enumerate(state.get("Branches") or []):
            yield from states_of(branch, f"{here}/Branches/{index}")
        for field in ("ItemProcessor", "Iterator"):
            yield from states_of(state.get(field), f"{here}/{field}")


def has_illegal_escape(call: str) -> bool:
    """Whether an intrinsic function call's quoted text escapes anything but ``' { } \\``."""
    quoted = False
    index = 0
    while index < len(call):
        char = call[index]
        if quoted and char == "\\":
            if index + 1 >= len(call) or call[index + 1] not in _INTRINSIC_ESCAPES:
                return True
            index += 2
            continue
        if char == "'":
            quoted = not quoted
        index += 1
    return False


def _payload_problems(value: Any, at: str) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _payload_problems(item, at)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key.endswith(".$") and isinstance(item, str) and item.startswith("States.") and has_illegal_escape(item):
            yield f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call at {at}"
        elif not key.endswith(".$"):
            yield from _payload_problems(item, f"{at}/{key}")


def schema_problems(definition: Any, express: bool) -> list[str]:
    """AWS's schema problems of a parsed definition (see the module docstring)."""
    problems: list[str] = []
    for _, at, state in states_of(definition):
        for field in _PAYLOAD_FIELDS:
            problems.extend(_payload_problems(state.get(field), f"{at}/{field}"))
        resource = state.get("Resource")
        if express and state.get("Type") == "Task" and isinstance(resource, str):
            if ":activity:" in resource:
                problems.append(_EXPRESS_ACTIVITY.format(at=f"{at}/Resource"))
            for suffix, words in _EXPRESS_REFUSED:
                if resource.endswith(suffix):
                    problems.append(words.format(at=f"{at}/Resource"))
    return problems


def unrecognised_resources(message: str, definition: Any) -> list[str]:
    """AWS's words for the integration moto's parser did not recognise, at each state naming it."""
    match = _UNRECOGNISED.search(message)
    if match is None:
        return []
    arn = match["arn"]
    return [
        f"The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the resource "
        f"is not available in this region. at {at}/Resource"
        for _, at, state in states_of(definition)
        if state.get("Resource") == arn
    ]


def refuses_definitions_as_aws(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``create_state_machine``: AWS's schema checks first, the parser's refusals as ``InvalidDefinition``."""

    def create_state_machine(self: Any, name: str, definition: str, *args: Any, **kwargs: Any) -> Any:
        from moto.stepfunctions.parser.api import InvalidDefinition as ParserInvalidDefinition

        try:
            document = json.loads(definition)
        except ValueError:
            document = None
        express = str(kwargs.get("sm_type") or "").upper() == "EXPRESS"
        problems = schema_problems(document, express) if document is not None else []
        if not problems:
            try:
                return original(self, name, definition, *args, **kwargs)
            except ParserInvalidDefinition as error:
                message = str(error.message or error)
                problems = unrecognised_resources(message, document) if document is not None else []
                if not problems:
                    raise _invalid_definition(f"Invalid State Machine Definition: '{message}'") from None
        refused = DefinitionRefusedError(problems)
        raise _invalid_definition(f"Invalid State Machine Definition: '{refused}'")

    return create_state_machine
