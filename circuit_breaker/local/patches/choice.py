"""Choice states as AWS documents them: a state-level ``Assign`` applies whichever rule matches.

moto 5.2.5 applies a Choice state's own ``Assign`` only when ``Default`` is taken. AWS's Choice state
documentation (Choice Rules, JSONata) says the state-level block "applies regardless of which choice
rule matches". Here both blocks are evaluated against the variables as they were before the state (as
every Assign is), a name the matched rule assigns too takes the rule's value, and the variables change
when the state exits (:mod:`.assignments`).
"""

from __future__ import annotations

from typing import Any

from circuit_breaker.local.patches.assignments import assign_later, declarations_of


def choice_eval_state(self: Any, env: Any) -> None:
    """Replaces ``StateChoice._eval_state``: pick the rule, then apply the state's and the rule's Assign."""
    chosen = None
    for rule in self.choices_decl.rules:
        rule.comparison.eval(env)
        if env.stack.pop() is True:
            if not rule.next_stmt:
                raise RuntimeError(f"Missing Next definition for state_choice rule '{rule}' in choices '{self}'.")
            chosen = rule
            break
    if chosen is None and self.default_state is None:
        raise RuntimeError("No branching option reached in state %s", self.name)
    declarations: dict[str, Any] = {}
    if self.assign_decl:
        declarations.update(declarations_of(self.assign_decl, env))
    if chosen is not None and chosen.assign:
        declarations.update(declarations_of(chosen.assign, env))
    assign_later(env, declarations)
    if chosen is not None and chosen.output:
        chosen.output.eval(env=env)
    env.stack.append(chosen.next_stmt.name if chosen is not None else self.default_state.state_name)


def choice_eval_state_output(self: Any, env: Any) -> None:
    """Replaces ``StateChoice._eval_state_output``: moto's, without applying the Assign a second time."""
    next_state_name: str = env.stack.pop()
    if self.default_state and self.default_state.state_name == next_state_name and self.output:
        self.output.eval(env=env)
    if self._is_language_query_jsonpath():
        if self.output_path:
            self.output_path.eval(env=env)
        else:
            current_output = env.stack.pop()
            env.states.reset(input_value=current_output)
    env.next_state_name = next_state_name
