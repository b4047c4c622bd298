"""The sample stack's template, compared with its committed snapshot: an unintended change to IAM, logging or the
workflow's definition fails here and shows in review as a diff of ``tests/cdk/snapshots/CircuitBreaker.template.json``.

The app is synthesized as ``cdk synth`` makes it from ``cdk.json`` alone (not the session's assembly, which registers
the tests' extra callees), then normalised (``tools/snapshot/template.py``: asset hashes, version reporting, machine
paths). After a change meant to be, ``make snapshot`` writes the snapshot again.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from tools.snapshot.template import SNAPSHOT, UPDATE_COMMAND, normalise, render, synthesize_sample

#: How much of the diff a failure prints (the whole diff is one `make snapshot && git diff` away).
DIFF_LINES = 120


@pytest.fixture(scope="module")
def sample_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize_sample(tmp_path_factory.mktemp("sample") / "cdk.out")


def test_the_synthesized_sample_template_matches_its_snapshot(sample_assembly: Path) -> None:
    current = render(normalise(sample_assembly))
    committed = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    if current != committed:
        diff = list(difflib.unified_diff(committed.splitlines(), current.splitlines(), "committed snapshot", "synthesized now", lineterm="", n=2))
        shown = "\n".join(diff[:DIFF_LINES]) + (f"\n... {len(diff) - DIFF_LINES} more diff lines" if len(diff) > DIFF_LINES else "")
        pytest.fail(
            f"the synthesized CircuitBreaker template differs from {SNAPSHOT.name}. If the change is meant to be, run "
            f"`{UPDATE_COMMAND}` and commit the snapshot with it; otherwise the stack changed by accident:\n{shown}",
            pytrace=False,
        )


def test_the_snapshot_holds_what_review_needs_and_nothing_of_the_machine(sample_assembly: Path) -> None:
    document = normalise(sample_assembly)
    text = render(document)
    resources = document["template"]["Resources"].values()
    kinds = {r["Type"] for r in resources}
    assert {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup", "AWS::StepFunctions::StateMachine", "AWS::DynamoDB::Table"} <= kinds
    (definition,) = document["definitions"].values()
    assert definition["QueryLanguage"] == "JSONata" and "Call callee" in definition["States"]
    asl = json.loads((Path(__file__).resolve().parents[2] / "statemachine" / "circuit_breaker.asl.json").read_text())
    assert definition == asl  # the definition as CloudFormation receives it: the ASL file, substitutions in the template
    assert str(sample_assembly) not in text and str(Path.home()) not in text
    assert "CDKMetadata" not in text and not any(len(w) == 64 and set(w) <= set("0123456789abcdef") for w in text.replace('"', " ").split())
