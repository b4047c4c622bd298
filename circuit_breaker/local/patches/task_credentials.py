"""A Task's ``Credentials``: the execution's role must be allowed to assume the task's role, as on AWS.

A Task state with ``Credentials.RoleArn`` runs its call as that role, which the execution's own role
assumes first. When the role does not exist or its trust policy does not let the execution's role assume
it, AWS fails the task after it started: ``States.TaskFailed``, "The role <execution role> is not
authorized to assume the task state's role, <task role>." (recorded by AWS:
``../shared/parity/localstack-sfn/v2/assign/test_assign_reference_variables.snapshot.json``, ``test_variables_in_lambda_task[BASE_REFERENCE_IN_LAMBDA_TASK_FIELDS]``).
moto ignores the credentials and makes the call as itself.
"""

from __future__ import annotations

import json
from typing import Any, Callable

_ASSUME_ACTIONS = {"sts:assumerole", "sts:*", "*"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusts(policy: Any, role_arn: str) -> bool:
    """Whether a trust policy lets ``role_arn`` (an IAM role) call ``sts:AssumeRole``."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    account = role_arn.split(":")[4]
    principals = {"*", role_arn, account, f"arn:aws:iam::{account}:root"}
    for statement in _as_list((document or {}).get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        if not {str(action).lower() for action in _as_list(statement.get("Action", []))} & _ASSUME_ACTIONS:
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        aws = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
        if principals & set(aws):
            return True
    return False


def can_assume(execution_role_arn: str, task_role_arn: str) -> bool:
    """Whether the engine's IAM lets the execution's role assume the task's role."""
    from moto.iam.models import iam_backends

    parts = task_role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return False
    try:
        role = iam_backends[parts[4]]["global"].get_role_by_arn(task_role_arn)
    except Exception:  # noqa: BLE001 - moto's NotFoundException (and a malformed ARN) both mean "cannot assume"
        return False
    return trusts(role.assume_role_policy_document, execution_role_arn)


def assumes_the_task_role(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``StateTaskService._before_eval_execution``: after TaskStarted, fail if the task's role cannot be assumed."""

    def _before_eval_execution(self: Any, env: Any, resource_runtime_part: Any, raw_parameters: dict, state_credentials: Any) -> None:
        original(self, env, resource_runtime_part, raw_parameters, state_credentials)
        task_role = getattr(state_credentials, "role_arn", None) if self.credentials else None
        if not task_role:
            return
        execution_role = env.states.context_object.context_object_data["Execution"]["RoleArn"]
        if not can_assume(execution_role, task_role):
            raise _not_authorised(self, env, execution_role, task_role)

    return _before_eval_execution


def _not_authorised(state: Any, env: Any, execution_role: str, task_role: str) -> Exception:
    from circuit_breaker.local.patches.evaluation_failures import states_failure

    return states_failure(
        env,
        "StatesTaskFailed",
        "TaskFailed",
        f"The role {execution_role} is not authorized to assume the task state's role, {task_role}.",
        resource=state._get_sfn_resource(),
        resourceType=state._get_sfn_resource_type(),
    )
