"""The parity harness's own logic (make parity): reading, normalising, comparing, reporting.

Fast and without the replay itself: `make parity` runs that against ../shared/parity.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tools.parity import json5
from tools.parity.__main__ import main
from tools.parity.compare import compare
from tools.parity.normalise import Names, normalise
from tools.parity.ratchet import main as ratchet
from tools.parity.recordings import ParityData, Recording
from tools.parity.report import Tally, Verdict, read_json, to_json, to_markdown
from tools.parity.runner import judge

NAMES = Names(account="123456789012", region="us-east-1", replacements={"parity-1-fn": "<lambda_function_name>", "arn:aws:iam::123456789012:role/r": "snf_role_arn"})


def test_json5_templates_lose_comments_and_trailing_commas_only() -> None:
    text = '{\n  // a comment\n  "a": "http://x // not a comment",\n  "b": [1, 2,],  /* block */\n}'
    assert json5.loads(text) == {"a": "http://x // not a comment", "b": [1, 2]}
    with pytest.raises(json5.Json5Error):
        json5.loads("{'single': 'quotes'}")


def test_normalising_parses_object_text_one_level_and_replaces_identifiers() -> None:
    answer = {
        "events": [
            {
                "timestamp": datetime(2024, 1, 1, tzinfo=timezone.utc),
                "executionStartedEventDetails": {
                    "input": '{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:parity-1-fn", "Cause": "{\\"x\\": 1}"}',
                    "roleArn": "arn:aws:iam::123456789012:role/r",
                },
                "stateExitedEventDetails": {"output": "[1, 2]", "when": "at 2024-05-01T10:00:00Z"},
            }
        ],
        "ResponseMetadata": {"RequestId": "abc", "HTTPStatusCode": 200, "HTTPHeaders": {"a": "b"}},
        "SdkHttpMetadata": {"AllHttpHeaders": {"Date": ["Mon, 01 Jan 2024"], "x-amz-crc32": ["123"]}},
    }
    normalised = normalise(answer, NAMES)
    event = normalised["events"][0]
    assert event["timestamp"] == "timestamp"
    details = event["executionStartedEventDetails"]
    assert details["input"] == {"FunctionName": "arn:<partition>:lambda:<region>:111111111111:function:<lambda_function_name>", "Cause": '{"x": 1}'}
    assert details["roleArn"] == "snf_role_arn"
    assert event["stateExitedEventDetails"] == {"output": "[1, 2]", "when": "at date"}  # arrays stay text
    assert normalised["ResponseMetadata"] == {"HTTPHeaders": {}, "HTTPStatusCode": 200}
    assert normalised["SdkHttpMetadata"]["AllHttpHeaders"] == {"Date": "date", "x-amz-crc32": "x-amz-crc32"}


def test_placeholders_match_any_text_but_the_same_text_everywhere() -> None:
    recorded = {"a": "arn:x:<uuid:1>", "b": "<uuid:1>", "c": "<uuid:2>"}
    assert compare(recorded, {"a": "arn:x:1234", "b": "1234", "c": "5678"}).equal
    mismatch = compare(recorded, {"a": "arn:x:1234", "b": "9999", "c": "5678"})
    assert not mismatch.equal and "$.b" in mismatch.diff()


def test_values_must_have_the_same_type_and_keys() -> None:
    assert not compare({"n": 1}, {"n": 1.0}).equal
    assert not compare({"n": 0}, {"n": False}).equal
    differences = compare({"a": 1, "b": 2}, {"a": 1, "c": 2}).differences
    assert any("$.b: missing" in d for d in differences) and any("$.c: not recorded by AWS" in d for d in differences)
    assert not compare([1, 2], [1]).equal


def test_json_texts_compare_by_what_they_hold() -> None:
    assert compare("[1,2]", "[1, 2]").equal
    assert not compare("[1.0]", "[1]").equal
    assert compare([1, 2], "[1, 2]").equal  # a test parsed this text before recording it
    assert not compare("plain", "other").equal


def verdicts() -> list[Verdict]:
    return [
        Verdict("f.py::C::t[a]", "core", "assign/test_a", "match"),
        Verdict("f.py::C::t[b]", "core", "assign/test_a", "mismatch", "$.x: expected 1, got 2", "$.x: expected 1, got 2"),
        Verdict("g.py::C::u", "wider", "base/test_b", "not-run", "no recipe"),
    ]


def test_the_report_lists_every_key_with_its_verdict_and_the_summary_line(tmp_path: Path) -> None:
    path = tmp_path / "parity.json"
    path.write_text(to_json(verdicts()))
    document = json.loads(path.read_text())
    assert set(document) == {v.key for v in verdicts()}
    assert document["f.py::C::t[b]"] == {"verdict": "mismatch", "reason": "$.x: expected 1, got 2", "diff": "$.x: expected 1, got 2", "area": "core", "group": "assign/test_a"}
    assert read_json(path) == verdicts()
    assert Tally.of(verdicts()).line() == "parity: 1/3 AWS-recorded executions match (core 1/2, wider 0/1)"
    markdown = to_markdown(verdicts(), 12.0)
    assert "## assign/test_a (core: 1/2)" in markdown and "## base/test_b (wider: 0/1)" in markdown
    assert "| `C::u` | not-run | no recipe |" in markdown


def test_the_ratchet_fails_when_core_parity_drops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "parity.json"
    path.write_text(to_json(verdicts()))
    assert ratchet([str(path)]) == 0 and capsys.readouterr().out.strip() == "1"
    assert ratchet([str(path), "--at-least", "1"]) == 0
    assert ratchet([str(path), "--at-least", "2"]) == 1
    (tmp_path / "broken.json").write_text("[")
    assert ratchet([str(tmp_path / "broken.json")]) == 2


def test_missing_recordings_exit_2_and_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path / "nowhere")]) == 2
    assert "no AWS recordings" in capsys.readouterr().err


def test_a_malformed_recording_is_not_run_with_its_reason(tmp_path: Path) -> None:
    data = tmp_path / "localstack-sfn"
    (data / "v2" / "area").mkdir(parents=True)
    (data / "v2" / "area" / "test_x.snapshot.json").write_text(
        json.dumps(
            {
                "t.py::C::test_ok": {"recorded-content": {"get_execution_history": {"events": []}}},
                "t.py::C::test_empty": {"recorded-content": {}},
                "t.py::C::test_broken": {"recorded-content": {"get_execution_history": {"events": "none"}}},
                "t.py::C::test_other": {"recorded-content": {}},
            }
        )
    )
    (data / "v2" / "area" / "test_bad.snapshot.json").write_text("{not json")
    (tmp_path / "SCOPE.json").write_text(
        json.dumps({"core": {"area/test_x.snapshot.json": ["test_ok", "test_empty", "test_broken"]}, "wider": {"area/test_bad.snapshot.json": None}})
    )
    recordings = list(ParityData.locate(data).recordings())
    assert [r.test for r in recordings] == ["test_ok", "test_empty", "test_broken", "*"]
    problems = {r.test: r.problem for r in recordings}
    assert problems["test_ok"] is None
    assert "holds nothing" in problems["test_empty"] and "no list of events" in problems["test_broken"]
    assert "unreadable snapshot file" in problems["*"]
    verdict = judge(None, recordings[2])  # type: ignore[arg-type] - a malformed recording never reaches the engine
    assert verdict.verdict == "not-run" and verdict.reason.startswith("malformed recording")
    unknown = Recording("t.py::C::test_ok", "core", "area/test_x.snapshot.json", "C", "test_ok", None, {"exception": {}})
    assert judge(None, unknown).reason.startswith("no recipe")  # type: ignore[arg-type]


def _event(event_id: int, previous: int, kind: str, **details: object) -> dict:
    return {"id": event_id, "previousEventId": previous, "type": kind, **details}


def test_parallel_branch_events_are_unordered_as_the_recording_shows() -> None:
    from tools.parity.normalise import mirror_recording_transformers

    recorded = {"h": {"events": [{"id": [0], "type": "TaskStateEntered"}]}}
    events = [
        _event(1, 0, "ParallelStateEntered"),
        _event(2, 1, "ParallelStateStarted"),
        _event(3, 2, "TaskStateEntered", stateEnteredEventDetails={"name": "B"}),
        _event(4, 2, "PassStateEntered", stateEnteredEventDetails={"name": "A"}),
        _event(5, 4, "ParallelStateFailed"),
        _event(6, 5, "ParallelStateExited"),
        _event(7, 6, "ExecutionFailed"),
    ]
    actual = mirror_recording_transformers({"h": {"events": events}}, recorded)["h"]["events"]
    # Branch events: ids [0], previous 0, sorted by their JSON text; the Failed event before an Exited one
    # is replaced away, as LocalStack's transformer did to AWS's history.
    assert [(e["id"], e["previousEventId"], e["type"]) for e in actual] == [
        (1, 0, "ParallelStateEntered"),
        (2, 1, "ParallelStateStarted"),
        ([0], 0, "PassStateEntered"),
        ([0], 0, "TaskStateEntered"),
        (6, 5, "ParallelStateExited"),
        (7, 6, "ExecutionFailed"),
    ]
    # Histories whose recording kept their ids are left alone.
    untouched = [_event(1, 0, "ParallelStateStarted"), _event(2, 1, "PassStateEntered"), _event(3, 2, "ParallelStateSucceeded")]
    assert mirror_recording_transformers({"h": {"events": untouched}}, {"h": {"events": []}})["h"]["events"][1]["id"] == 2


def test_only_real_dates_are_normalised_to_date() -> None:
    answer = {"TimestampValue": "2016-13-05T21:29:29Z", "At": "2016-12-05T21:29:29Z", "text": "at 2016-12-05T25:29:29Z"}
    assert normalise(answer, NAMES) == {"TimestampValue": "timestamp", "At": "date", "text": "at 2016-12-05T25:29:29Z"}


def test_context_fields_aws_added_later_are_dropped_from_older_recordings_only() -> None:
    from datetime import date

    from tools.parity.normalise import without_later_fields

    def answer() -> dict:
        execution = {"Id": "arn", "Input": {}, "Name": "n", "RoleArn": "r", "StartTime": "t", "RedriveCount": 0}
        return {"output": {"ThisContextObject": {"Execution": execution}}, "other": {"RedriveCount": 0}}

    before = without_later_fields(answer(), date(2023, 10, 24))
    assert "RedriveCount" not in before["output"]["ThisContextObject"]["Execution"]
    assert before["other"] == {"RedriveCount": 0}  # not a context object: kept
    assert without_later_fields(answer(), date(2024, 7, 15)) == answer()
    assert without_later_fields(answer(), None) == answer()


def test_a_bucket_holds_the_recorded_items_then_items_the_map_must_leave_unread() -> None:
    from tools.parity.runner import recorded_items

    batches = [{"Items": [{"a": 1}, {"a": 2}]}, {"Items": [{"a": 3}]}]
    recording = Recording(
        "t.py::C::t",
        "core",
        "area/t.snapshot.json",
        "C",
        "t",
        None,
        {"get_execution_history": {"events": [{"executionSucceededEventDetails": {"output": json.dumps(batches)}}]}},
    )
    assert recorded_items(recording) == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_recipes_set_fields_inside_lists() -> None:
    from tools.parity.runner import _set_path

    document = {"States": {"S": {"Catch": [{"ErrorEquals": []}]}}}
    _set_path(document, "States.S.Catch.0.ErrorEquals", ["CustomException"])
    assert document == {"States": {"S": {"Catch": [{"ErrorEquals": ["CustomException"]}]}}}
