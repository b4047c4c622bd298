"""Security and correctness gates on what ``cdk synth`` produces: cdk-nag and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint

from circuit_breaker.local.patches import substitute_definition
from tests.cdk.test_template import only

#: cfn-lint findings acknowledged, each with the reason it does not apply.
ACKNOWLEDGED_TEMPLATE_FINDINGS = {
    # CDK makes every resource that uses a role depend on the role's DefaultPolicy and the role itself, so the
    # policy exists before the first call; the role part is redundant with the GetAtt, and harmless.
    "W3005",
}
ACKNOWLEDGED_DEFINITION_FINDINGS = {
    # JSONata expressions are valid in TimeoutSeconds ("{% ... %}", per callee); cfn-lint 1.58's schema for
    # StateMachine definitions only knows integers there. DESIGN.md section 4.8.
    ("E3601", "Resources/StateMachine/Properties/Definition/States/Call callee/TimeoutSeconds"),
    ("E3601", "Resources/StateMachine/Properties/Definition/States/Call callee, timed/TimeoutSeconds"),
    ("E3601", "Resources/StateMachine/Properties/Definition/States/Call probe/TimeoutSeconds"),
    ("E3601", "Resources/StateMachine/Properties/Definition/States/Call fallback/TimeoutSeconds"),
}

#: cdk-nag rules suppressed somewhere in the app, each with its reason at the suppression.
SUPPRESSED_RULES = {
    "AwsSolutions-IAM5[Resource::*]",  # log delivery and X-Ray actions have no resource-level permissions
    "AwsSolutions-SQS3",  # the dead-letter queue is itself a dead-letter queue
}


def test_cdk_nag_aws_solutions_checks_pass(assembly: Path) -> None:
    [report] = json.loads((assembly / "validation-report.json").read_text())["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success" and report["violations"] == []
    for suppressed in report.get("suppressedViolations", []):
        assert len(suppressed["reason"]) > 60, suppressed  # a reason, not a shrug
        assert suppressed["ruleName"] in SUPPRESSED_RULES


def test_cfn_lint_passes_on_the_synthesized_template(assembly: Path) -> None:
    template = (assembly / "CircuitBreaker.template.json").read_text()
    findings = [m for m in lint(template, config=ManualArgs(regions=["us-east-1"])) if m.rule.id not in ACKNOWLEDGED_TEMPLATE_FINDINGS]
    assert findings == [], [f"{m.rule.id} {m.path}: {m.message}" for m in findings]


def test_the_rendered_definition_passes_the_state_machine_schema(assembly: Path, template: dict[str, Any]) -> None:
    """cfn-lint cannot see a definition in S3: lint it as CloudFormation would receive it after substitution."""
    properties = only(template, "AWS::StepFunctions::StateMachine")["Properties"]
    text = (assembly / f"asset.{properties['DefinitionS3Location']['Key']}").read_text()
    substitutions = {"TableName": "circuit-table", "MaxDepth": "16", "EventBusName": "default", "EventSource": "circuit-breaker",
                     "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters",
                     "Registry": '{\\"echo\\":{\\"functionArn\\":\\"arn:aws:lambda:us-east-1:123456789012:function:echo\\"}}'}
    definition = json.loads(substitute_definition(text, substitutions))
    linted = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"StateMachineType": "EXPRESS", "RoleArn": "arn:aws:iam::123456789012:role/breaker", "Definition": definition},
            }
        },
    }
    findings = {(m.rule.id, "/".join(map(str, m.path))) for m in lint(json.dumps(linted), config=ManualArgs(regions=["us-east-1"]))}
    assert findings == ACKNOWLEDGED_DEFINITION_FINDINGS
