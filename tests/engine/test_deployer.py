"""The local deployer reads a stack of a cloud assembly as ``cdk deploy`` does: its tags go to CloudFormation with it.

``cdk deploy`` creates a stack with the tags of its manifest entry (``Tags.of(stack)``); the e2e driver recognises
its stacks by such a tag, so the local engine's stacks must carry them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from circuit_breaker.local.deployer import LocalDeployer, load_stack


def assembly(directory: Path, tags: dict[str, str] | None) -> Path:
    properties: dict[str, Any] = {"templateFile": "Tagged.template.json"}
    if tags is not None:
        properties["tags"] = tags
    manifest = {"version": "48.0.0", "artifacts": {"Tagged": {"type": "aws:cloudformation:stack", "properties": properties}}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "Tagged.template.json").write_text(json.dumps({"Resources": {}}))
    return directory


class _CloudFormation:
    def __init__(self) -> None:
        self.created: dict[str, Any] = {}

    def create_stack(self, **request: Any) -> None:
        self.created = request

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackStatus": "CREATE_COMPLETE", "Outputs": []}]}


class _Session:
    """Only what deploy() asks of a session for a stack without assets or parameters."""

    def __init__(self) -> None:
        self.cloudformation = _CloudFormation()

    def client(self, service: str) -> Any:
        if service == "cloudformation":
            return self.cloudformation
        return _Anything()


class _Anything:
    def __getattr__(self, name: str) -> Any:
        return lambda **kwargs: {"Buckets": []}


def test_a_stack_s_manifest_tags_are_read_and_given_to_create_stack(tmp_path: Path) -> None:
    stack = load_stack(assembly(tmp_path, {"circuit-breaker:e2e-run": "abcd1234", "team": "payments"}))
    assert stack.tags == {"circuit-breaker:e2e-run": "abcd1234", "team": "payments"}

    session = _Session()
    LocalDeployer(session, "123456789012", "us-east-1", lambda name, value: None).deploy(stack)
    assert session.cloudformation.created["Tags"] == [{"Key": "circuit-breaker:e2e-run", "Value": "abcd1234"}, {"Key": "team", "Value": "payments"}]


def test_a_stack_without_tags_is_created_without_any(tmp_path: Path) -> None:
    stack = load_stack(assembly(tmp_path, None))
    session = _Session()
    LocalDeployer(session, "123456789012", "us-east-1", lambda name, value: None).deploy(stack)
    assert (stack.tags, session.cloudformation.created["Tags"]) == ({}, [])
