"""How each recorded test was set up, as data: a :class:`Recipe` per snapshot key.

LocalStack's test code (its Step Functions ``v2`` test folder) says, for each recording, which
template ran, what was changed in it, which functions or tables existed and what input the execution
got. A recipe says the same for the harness. Tokens in a recipe's definition edits and input stand for
what the harness creates: ``{{fn.arn}}``/``{{fn.name}}`` (the first function; ``fn2`` the second),
``{{table}}``, ``{{bucket}}``, ``{{queue_url}}``, ``{{detail_type}}``.

Unless a recipe gives one, the execution's input is the one AWS recorded (its ``ExecutionStarted``
event), with the recording's placeholders turned back into the harness's names.

The area modules beside this one fill :data:`REGISTRY`: ``"<snapshot group>::<Class>::<test>"`` ->
``params -> Recipe``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

#: The input AWS recorded is used (see the module docstring).
FROM_RECORDING: Any = object()
#: An S3 object holding the items AWS's recorded execution output shows (batches flattened), followed by
#: items of the harness's own that a Map reading fewer items (``MaxItems``) must leave unread.
RECORDED_ITEMS: Any = object()


@dataclass(frozen=True)
class Function:
    """A Lambda function the test created."""

    handler: str
    """A name from :data:`tools.parity.functions.SOURCES`."""
    placeholder: str = "<lambda_function_name>"
    """How the recording wrote the function's name."""
    timeout: int = 30


@dataclass(frozen=True)
class Recipe:
    """One recorded test's setup, and how its answers were collected."""

    template: str | None = None
    """A template under the data's ``templates/`` folder (``assign/statemachines/base_empty.json5``)."""
    definition: Any = None
    """An inline definition, for tests that built theirs in code."""
    set: Mapping[str, Any] = field(default_factory=dict)
    """``"States.Start.Resource" -> value``: fields changed in the loaded template (tokens allowed)."""
    replace: Mapping[str, str] = field(default_factory=dict)
    """Text replaced in the definition's JSON (tokens allowed)."""
    functions: tuple[Function, ...] = ()
    table: str | None = None
    """Create a DynamoDB table (partition key ``id``) recorded under this placeholder."""
    bucket: str | None = None
    """Create an S3 bucket (token ``{{bucket}}``) recorded under this placeholder."""
    activity: str | None = None
    """Create an activity (token ``{{activity.arn}}``) recorded under this placeholder (its creation as ``create_activity_output``)."""
    bucket_objects: Mapping[str, Any] = field(default_factory=dict)
    """Objects put in the bucket: key -> JSON value, or :data:`RECORDED_ITEMS`."""
    input: Any = FROM_RECORDING
    kind: str = "history"
    """``history`` | ``sync`` | ``async`` | ``logs`` | ``multi`` | ``create_error`` | ``events`` | ``status_events`` | ``api``."""
    sm_type: str = "STANDARD"
    role_placeholder: str = "snf_role_arn"
    log_level: str | None = None
    include_execution_data: bool = False
    inputs: tuple[Any, ...] = ()
    """``multi``: one execution per input, recorded as ``exec_hist_resp_<i>``."""
    fixed_keys: Mapping[str, str] = field(default_factory=dict)
    """Extra key -> word replacements the test added (``StartTime`` -> ``start-time``)."""
    replacements: Mapping[str, str] = field(default_factory=dict)
    """Extra literal -> placeholder replacements the test added."""
    delete_log_group: bool = False
    """``logs``: delete the log group before the execution (AWS then logs nothing, and the execution still runs)."""
    wait_scale: float = 0.0
    """The engine clock's scale for this test (1 where a timeout must race a real wait)."""
    read_while_waiting: bool = False
    """``history``: the test read the history while the execution still waited in a Wait state (then stopped it)."""
    not_run: str | None = None
    """Why this recording cannot be replayed on the engine at all (it is reported as not-run)."""


RecipeFactory = Callable[[str | None], Recipe]

REGISTRY: dict[str, RecipeFactory] = {}


class NoRecipeError(LookupError):
    """No recipe says how the recorded test was set up."""


def recipe(*test_ids: str) -> Callable[[RecipeFactory], RecipeFactory]:
    """Register a factory for ``"<group>::<Class>::<test>"`` ids."""

    def register(factory: RecipeFactory) -> RecipeFactory:
        for test_id in test_ids:
            REGISTRY[test_id] = factory
        return factory

    return register


def lookup(group: str, test_id: str, params: str | None) -> Recipe:
    """The recipe of one snapshot key."""
    _load_areas()
    factory = REGISTRY.get(f"{group}::{test_id}")
    if factory is None:
        raise NoRecipeError(f"no recipe for {group}::{test_id}")
    return factory(params)


def template_for(folder: str, param: str | None) -> str:
    """The usual naming: parameter ``BASE_EMPTY`` -> ``<folder>/statemachines/base_empty.json5``."""
    if not param:
        raise NoRecipeError(f"a template of {folder} is chosen by a parameter, and the key has none")
    return f"{folder}/statemachines/{param.lower()}.json5"


def _load_areas() -> None:
    from tools.parity.recipes import dataflow, errors, express, scenarios, services  # noqa: F401
