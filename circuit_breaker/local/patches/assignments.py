"""``Assign`` as AWS evaluates it: values computed in the state, variables changed when it exits.

Every expression of a state (its ``Output``/``OutputPath``, a Catch's ``Output``...) sees the variables
as they were when the state was entered; the state's ``Assign`` takes effect as the state exits. AWS
recorded ``"OutputPath": "$answer"`` next to ``"Assign": {"answer": "<omitted>"}`` giving the old value
of ``answer`` (``../shared/parity/localstack-sfn/v2/assign/test_assign_reference_variables.snapshot.json``,
``test_state_assign_evaluation_order``); moto 5.2.5 sets the variables at once, so the same state's
output saw the new value. When a Catch handles a failure, its own ``Assign`` replaces the state's.

A string written in an ``Assign`` block is a JSON string: its escapes are decoded (``"\\""`` is one
double quote). moto kept the escapes as text (``\\"``), so ``States.StringToJson($json)`` of an assigned
``"{\\"key\\":\\"value\\"}"`` failed and ``$var = '"'`` was false where AWS says true (recorded:
``test_reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]``, ``../shared/parity/localstack-sfn/v2/scenarios/test_base_scenarios.snapshot.json``,
``test_escape_sequence_parsing``). The ``assignedVariables`` of a history event show each value as JSON
text, as AWS writes them (moto wrapped a string in quotes without escaping it).
"""

from __future__ import annotations

import json
from typing import Any

#: Where a state's evaluated but not yet applied assignments wait, on its environment.
_PENDING = "breaker_pending_assign"


def declarations_of(assign_decl: Any, env: Any) -> dict[str, Any]:
    """What an ``Assign`` block sets, evaluated against the variables as they are (nothing is set)."""
    declarations: dict[str, Any] = {}
    for binding in assign_decl.declaration_bindings:
        binding.eval(env=env)
        declarations.update(env.stack.pop())
    return declarations


def assign_later(env: Any, declarations: dict[str, Any]) -> None:
    """Make ``declarations`` the state's assignments, applied when it exits (replacing any made before)."""
    setattr(env, _PENDING, declarations)


def assign_decl_eval_body(self: Any, env: Any) -> None:
    """Replaces ``AssignDecl._eval_body``: evaluate the block now, apply it when the state exits."""
    assign_later(env, declarations_of(self, env))


def apply_pending(env: Any) -> None:
    """Apply the assignments the state made (once)."""
    declarations = getattr(env, _PENDING, None)
    if declarations is None:
        return
    setattr(env, _PENDING, None)
    for identifier, value in declarations.items():
        env.variable_store.set(variable_identifier=identifier, variable_value=value)


def applies_on_exit(original: Any) -> Any:
    """Wraps ``CommonStateField._get_state_exited_event_details``: the state's assignments take effect as it exits."""

    def _get_state_exited_event_details(self: Any, env: Any) -> Any:
        apply_pending(env)
        return original(self, env)

    return _get_state_exited_event_details


def assign_string_literal(self: Any, ctx: Any) -> Any:
    """Replaces ``Preprocessor.visitAssign_template_value_terminal_string_literal``: the JSON string, decoded."""
    from moto.stepfunctions.parser.asl.component.common.assign.assign_template_value_terminal import (
        AssignTemplateValueTerminalLit,
    )

    text = ctx.string_literal().getText()
    try:
        value = json.loads(text)
    except ValueError:
        value = self._inner_string_of(ctx.string_literal())
    return AssignTemplateValueTerminalLit(value=value)


def assigned_variables(self: Any) -> dict[str, str]:
    """Replaces ``VariableStore.get_assigned_variables``: each assigned value as JSON text (non-ASCII kept)."""
    return {name: json.dumps(self.get(name), separators=(",", ":"), ensure_ascii=False) for name in self._declaration_tracing}
