"""The e2e driver without AWS: the commands it would run, its unique names, its clean-up, its refusals.

``make e2e-aws`` cannot run here (no account); what it would do is checked through the driver's injectable runner
and account (``tests/tools/e2e_fakes.py``), and its reaction to Ctrl-C and SIGTERM through a real signal sent to a
process running it (``tests/tools/e2e_child.py``). The suite it runs is checked to speak only AWS's APIs.
"""

from __future__ import annotations

import ast
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.stub import Stubber

from stacks.e2e import E2E_OUTPUT_RUN, E2E_STACK_NAME, E2E_TAG, E2EStackNameError, run_id_of
from tests.tools.e2e_fakes import ACCOUNT_ID, STAND_IN_ENGINE, FakeAccount, RecordingRunner, alive, ours
from tools.e2e.account import Boto3Account, ForeignStackError, SetupError, StackFacts, check_ours
from tools.e2e.commands import Command, SubprocessRunner
from tools.e2e.runs import SETUP_FAILED, AwsOptions, destroy, free_port, new_stack_name, port_free, run_locally, run_on_aws, wait_until_ready

PROJECT_DIR = Path(__file__).resolve().parents[2]
SUITE_DIR = PROJECT_DIR / "tests" / "e2e"
STACK = "CircuitBreakerE2E-run00001"


def named() -> str:
    return STACK


def aws_run(tmp_path: Path, account: FakeAccount, runner: RecordingRunner, **options: object) -> tuple[int, str]:
    echo = io.StringIO()
    status = run_on_aws(account, runner, tmp_path, AwsOptions(**options), echo=echo, name=named)  # type: ignore[arg-type]
    return status, echo.getvalue()


def deploying(account: FakeAccount, **status: int) -> RecordingRunner:
    return RecordingRunner(status=status, hooks={"deploy": account.deployed})


# -- names ------------------------------------------------------------------------------------------------


def test_each_run_gets_a_unique_e2e_stack_name() -> None:
    names = {new_stack_name() for _ in range(500)}
    assert len(names) == 500
    assert all(E2E_STACK_NAME.match(name) and len(run_id_of(name)) == 8 for name in names)


@pytest.mark.parametrize("name", ["CircuitBreaker", "CircuitBreakerE2E-", "CircuitBreakerE2E-ABCD1234", "CircuitBreakerE2E-ab", "Other-abcd1234"])
def test_only_e2e_names_have_a_run_id(name: str) -> None:
    with pytest.raises(E2EStackNameError, match="not an e2e stack's name"):
        run_id_of(name)


# -- the commands of a run on AWS -------------------------------------------------------------------------


def test_a_run_on_aws_synthesizes_deploys_with_the_pinned_cli_runs_the_suite_and_destroys(tmp_path: Path) -> None:
    account = FakeAccount(region="eu-west-1")
    runner = deploying(account)

    status, said = aws_run(tmp_path, account, runner, profile="dev")

    assert status == 0
    assert runner.steps() == ["synthesize", "deploy", "run"]
    synth, deploy, suite = runner.ran
    assembly = str(tmp_path / "cdk.out")
    assert synth.argv == ("npx", "cdk", "synth", "--quiet", "-c", f"e2e_stack={STACK}", "-o", assembly, STACK)
    assert deploy.argv == ("npx", "cdk", "deploy", "--app", assembly, STACK, "--require-approval", "never", "--progress", "events", "--profile", "dev")
    assert deploy.env == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "dev"}
    assert suite.argv[1:6] == ("-m", "pytest", "tests/e2e", "-m", "e2e")
    assert ("--confcutdir", "tests/e2e") == suite.argv[suite.argv.index("--confcutdir") : suite.argv.index("--confcutdir") + 2]
    assert (suite.env["AWS_REGION"], suite.env["AWS_PROFILE"]) == ("eu-west-1", "dev")
    target = json.loads(Path(suite.env["E2E_TARGET"]).read_text())
    assert target == {"kind": "aws", "stack": STACK, "region": "eu-west-1", "endpoint_url": None, "profile": "dev"}
    assert account.deleted == [STACK]
    assert f"account {ACCOUNT_ID}, region eu-west-1" in said and f"{STACK} destroyed" in said


def test_without_a_profile_the_commands_leave_the_aws_configuration_to_the_environment(tmp_path: Path) -> None:
    account = FakeAccount(region="ap-southeast-2")
    runner = deploying(account)
    aws_run(tmp_path, account, runner)
    deploy = runner.ran[1]
    assert "--profile" not in deploy.argv
    assert deploy.env == {"AWS_REGION": "ap-southeast-2", "AWS_DEFAULT_REGION": "ap-southeast-2"}


def test_a_failing_suite_still_destroys_the_stack_and_reports_the_failure(tmp_path: Path) -> None:
    account = FakeAccount()
    status, _ = aws_run(tmp_path, account, deploying(account, run=1))
    assert (status, account.deleted) == (1, [STACK])


def test_a_failed_deploy_destroys_what_it_left_and_runs_no_suite(tmp_path: Path) -> None:
    account = FakeAccount()

    def half_deployed(command: Command) -> None:
        account.stacks[STACK] = ours(STACK, "ROLLBACK_COMPLETE")

    runner = RecordingRunner(status={"deploy": 1}, hooks={"deploy": half_deployed})
    status, said = aws_run(tmp_path, account, runner)

    assert status == SETUP_FAILED and "cdk deploy failed (exit 1)" in said
    assert runner.steps() == ["synthesize", "deploy"]
    assert account.deleted == [STACK]


def test_a_failed_synthesis_deploys_nothing_and_has_nothing_to_destroy(tmp_path: Path) -> None:
    account = FakeAccount()
    runner = RecordingRunner(status={"synthesize": 1})
    status, _ = aws_run(tmp_path, account, runner)
    assert (status, runner.steps(), account.deleted) == (SETUP_FAILED, ["synthesize"], [])


@pytest.mark.parametrize("step", ["deploy", "run"])
def test_ctrl_c_during_a_step_destroys_the_stack(tmp_path: Path, step: str) -> None:
    account = FakeAccount()

    def interrupt(command: Command) -> None:
        account.stacks[STACK] = ours(STACK, "CREATE_IN_PROGRESS" if step == "deploy" else "CREATE_COMPLETE")
        raise KeyboardInterrupt

    status, said = aws_run(tmp_path, account, RecordingRunner(hooks={"deploy": account.deployed, step: interrupt}))

    assert (status, account.deleted) == (130, [STACK])
    assert f"interrupted: destroying {STACK}" in said


def test_keep_leaves_the_stack_and_says_how_to_use_and_destroy_it(tmp_path: Path) -> None:
    account = FakeAccount()
    status, said = aws_run(tmp_path, account, deploying(account), keep=True)
    assert (status, account.deleted, list(account.stacks)) == (0, [], [STACK])
    assert f'ARGS="--stack {STACK}"' in said and f"python -m tools.e2e destroy {STACK}" in said


def test_a_kept_stack_is_run_against_again_without_deploying(tmp_path: Path) -> None:
    account = FakeAccount(stacks={STACK: ours(STACK)})
    runner = RecordingRunner()
    status, _ = aws_run(tmp_path, account, runner, reuse=STACK, keep=True)
    assert (status, runner.steps(), account.deleted) == (0, ["run"], [])


def test_an_account_without_the_cdk_bootstrap_is_told_the_command_and_nothing_runs(tmp_path: Path) -> None:
    account = FakeAccount(region="eu-west-1", is_bootstrapped=False)
    runner = RecordingRunner()
    status, said = aws_run(tmp_path, account, runner)
    assert (status, runner.ran) == (SETUP_FAILED, [])
    assert f"npx cdk bootstrap aws://{ACCOUNT_ID}/eu-west-1" in said


# -- refusing stacks the driver did not create ------------------------------------------------------------


def foreign(name: str = STACK, **marks: dict[str, str]) -> StackFacts:
    return StackFacts(name, "CREATE_COMPLETE", tags=marks.get("tags", {}), outputs=marks.get("outputs", {}))


@pytest.mark.parametrize(
    "facts",
    [
        foreign(),
        foreign(tags={E2E_TAG: "someoneelse"}),
        foreign(tags={E2E_TAG: "run00001"}, outputs={E2E_OUTPUT_RUN: "someoneelse"}),
        foreign("CircuitBreaker", tags={E2E_TAG: "run00001"}),
    ],
    ids=["no-marks", "another-run-s-tag", "another-run-s-output", "not-an-e2e-name"],
)
def test_a_stack_without_its_run_s_marks_is_refused(facts: StackFacts) -> None:
    with pytest.raises((ForeignStackError, E2EStackNameError)):
        check_ours(facts)


def test_a_stack_being_created_has_its_tag_before_its_outputs_and_is_ours() -> None:
    check_ours(StackFacts(STACK, "REVIEW_IN_PROGRESS", tags={E2E_TAG: "run00001"}))


def test_the_driver_never_deploys_over_a_stack_that_already_has_its_new_name(tmp_path: Path) -> None:
    account = FakeAccount(stacks={STACK: foreign()})
    runner = RecordingRunner()
    status, said = aws_run(tmp_path, account, runner)
    assert (status, runner.ran, account.deleted) == (SETUP_FAILED, [], [])
    assert "already exists" in said


@pytest.mark.parametrize("reuse", [STACK, "CircuitBreaker"])
def test_the_driver_refuses_to_run_against_a_stack_it_did_not_create(tmp_path: Path, reuse: str) -> None:
    account = FakeAccount(stacks={reuse: foreign(reuse)})
    runner = RecordingRunner()
    status, said = aws_run(tmp_path, account, runner, reuse=reuse)
    assert (status, runner.ran, account.deleted) == (SETUP_FAILED, [], [])
    assert "refusing" in said or "not an e2e stack's name" in said


def test_destroy_refuses_a_foreign_stack_and_deletes_nothing() -> None:
    account = FakeAccount(stacks={STACK: foreign(tags={E2E_TAG: "someoneelse"})})
    with pytest.raises(ForeignStackError, match="refusing to touch it"):
        destroy(account, STACK, io.StringIO())
    assert account.deleted == []


def test_destroy_takes_down_a_kept_stack_and_says_when_there_is_none() -> None:
    account = FakeAccount(stacks={STACK: ours(STACK)})
    assert destroy(account, STACK, io.StringIO()) is True
    assert destroy(account, STACK, io.StringIO()) is False
    assert account.deleted == [STACK]


# -- the account through boto3 (stubbed: no AWS) ----------------------------------------------------------


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS configuration of this test's own: a profile `dev` in eu-central-1, no default region."""
    config = tmp_path / "config"
    config.write_text("[profile dev]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return config


def test_region_and_profile_follow_the_aws_conventions(aws_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Boto3Account("us-west-2", None).region == "us-west-2"
    assert Boto3Account(None, "dev").region == "eu-central-1"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert Boto3Account(None, None).region == "eu-central-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert Boto3Account(None, None).region == "sa-east-1"
    with pytest.raises(SetupError, match="--profile"):
        Boto3Account(None, "nosuch")


def test_no_region_anywhere_is_a_setup_error_saying_what_to_set(aws_config: Path) -> None:
    with pytest.raises(SetupError, match="pass --region, set AWS_REGION"):
        Boto3Account(None, None)


def _described(status: str, tags: dict[str, str]) -> dict:
    return {"Stacks": [{"StackName": STACK, "StackStatus": status, "CreationTime": "2026-01-01T00:00:00Z", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]}


def test_deleting_waits_for_an_interrupted_deploy_to_settle_checks_the_marks_then_waits_for_the_delete(aws_config: Path) -> None:
    account = Boto3Account("eu-west-1", None, sleep=lambda seconds: None)
    cloudformation = account._client("cloudformation")
    marks = {E2E_TAG: "run00001"}
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", _described("CREATE_IN_PROGRESS", marks), {"StackName": STACK})
        stub.add_response("describe_stacks", _described("CREATE_COMPLETE", marks), {"StackName": STACK})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        stub.add_response("describe_stacks", _described("DELETE_IN_PROGRESS", marks), {"StackName": STACK})
        stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400, expected_params={"StackName": STACK})
        account.delete(STACK)
        stub.assert_no_pending_responses()


def test_the_account_never_deletes_a_stack_whose_tag_is_another_s(aws_config: Path) -> None:
    account = Boto3Account("eu-west-1", None, sleep=lambda seconds: None)
    with Stubber(account._client("cloudformation")) as stub:
        stub.add_response("describe_stacks", _described("CREATE_COMPLETE", {E2E_TAG: "someoneelse"}), {"StackName": STACK})
        with pytest.raises(ForeignStackError):
            account.delete(STACK)
        stub.assert_no_pending_responses()  # and no delete_stack was expected


# -- the local engine -------------------------------------------------------------------------------------


def test_a_local_run_serves_the_assembly_on_a_port_of_its_own_runs_the_suite_over_http_and_stops(tmp_path: Path) -> None:
    runner = RecordingRunner()
    status = run_locally(runner, tmp_path, ["-k", "probe"], io.StringIO(), name=named, port=45678)

    assert status == 0
    assert runner.steps() == ["synthesize", "serve", "run"]
    serve, suite = runner.ran[1], runner.ran[2]
    assert serve.argv[1:] == ("local", "up", "--assembly", str(tmp_path / "cdk.out"), "--stack", STACK, "--port", "45678", "--region", "us-east-1")
    assert serve.env["BREAKER_STATE_DIR"] == str(tmp_path / "state")  # never the user's state file
    assert "AWS_PROFILE" in serve.unset
    assert suite.argv[-2:] == ("-k", "probe")
    target = json.loads(Path(suite.env["E2E_TARGET"]).read_text())
    assert (target["kind"], target["stack"], target["endpoint_url"]) == ("local", STACK, "http://127.0.0.1:45678")
    assert runner.started[0].stopped == 1


@pytest.mark.parametrize("outcome", ["fails", "interrupted"])
def test_the_local_engine_is_stopped_when_the_suite_fails_or_is_interrupted(tmp_path: Path, outcome: str) -> None:
    def interrupt(command: Command) -> None:
        raise KeyboardInterrupt

    runner = RecordingRunner(status={"run": 1}) if outcome == "fails" else RecordingRunner(hooks={"run": interrupt})
    status = run_locally(runner, tmp_path, (), io.StringIO(), name=named, port=45679)
    assert status == (1 if outcome == "fails" else 130)
    assert runner.started[0].stopped == 1


def test_an_engine_that_dies_before_serving_is_reported_with_its_output(tmp_path: Path) -> None:
    runner = RecordingRunner(serves=False)
    echo = io.StringIO()
    status = run_locally(runner, tmp_path, (), echo, name=named, port=45680)
    assert (status, runner.steps()) == (SETUP_FAILED, ["synthesize", "serve"])
    assert "exited before it served" in echo.getvalue() and "could not deploy the stack" in echo.getvalue()


def test_the_real_runner_stops_a_serving_process_and_frees_its_port(tmp_path: Path) -> None:
    port = free_port()
    command = Command((sys.executable, "-c", STAND_IN_ENGINE, "--port", str(port)), "serve", {"BREAKER_STATE_DIR": str(tmp_path)})
    process = SubprocessRunner(echo=io.StringIO()).start(command, tmp_path / "log")
    try:
        assert wait_until_ready(process, tmp_path / "local-engine.json", tmp_path / "log", timeout=20) == f"http://127.0.0.1:{port}"
        assert not port_free(port)
    finally:
        process.stop()
    assert (process.running(), port_free(port), alive(process.pid)) == (False, True, False)


# -- real signals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "signum"), [("aws", signal.SIGINT), ("aws", signal.SIGTERM), ("local", signal.SIGINT)])
def test_a_signal_to_the_driver_stops_the_suite_and_cleans_up(tmp_path: Path, kind: str, signum: signal.Signals) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.tools.e2e_child", kind, str(tmp_path)], cwd=PROJECT_DIR, stderr=subprocess.PIPE, text=True
    )
    sleeper_file = tmp_path / "sleeper.pid"
    deadline = time.monotonic() + 30
    while not (sleeper_file.exists() and sleeper_file.read_text()):
        assert child.poll() is None and time.monotonic() < deadline, child.stderr.read() if child.stderr else ""
        time.sleep(0.05)
    sleeper = int(sleeper_file.read_text())

    child.send_signal(signum)
    try:
        _, said = child.communicate(timeout=60)
    finally:  # whatever happened, leave nothing running
        if child.poll() is None:
            child.kill()
        left_behind = alive(sleeper)
        if left_behind:
            os.kill(sleeper, signal.SIGKILL)
    assert child.returncode == 128 + signum, said
    events = [tuple(json.loads(line)) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[-1] == ("exit", str(128 + signum))
    if kind == "aws":
        stack = next(e[1].split()[1] for e in events if e[0] == "run" and e[1].startswith("deploy"))
        assert ("deleted", stack) in events
    else:
        assert "local engine stopped; port" in said and "is free" in said
    assert not left_behind  # the suite it ran is gone too


# -- the suite speaks only AWS's APIs ---------------------------------------------------------------------


def test_the_e2e_suite_imports_nothing_of_the_package_and_every_module_is_marked_e2e() -> None:
    modules = sorted(SUITE_DIR.glob("*.py"))
    assert {m.name for m in modules} >= {"conftest.py", "target.py", "test_contract.py", "test_circuit.py"}
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {name for name in imported if name.split(".")[0] in ("circuit_breaker", "moto", "tools", "stacks")}, module.name
        if module.name.startswith("test_"):
            assert "pytestmark" in module.read_text() and "pytest.mark.e2e" in module.read_text(), f"{module.name} is not marked e2e"


def test_make_test_collects_the_e2e_suite_but_runs_none_of_it() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--confcutdir", "tests/e2e", "tests/e2e"],
        cwd=PROJECT_DIR, capture_output=True, text=True, env={**os.environ, "E2E_TARGET": ""},
    )  # fmt: skip
    assert finished.returncode == 5, finished.stdout + finished.stderr  # every test deselected by the default -m
    assert "deselected" in finished.stdout
