"""The e2e driver in a process of its own, for ``tests/tools/test_e2e_driver.py`` to interrupt with a real signal.

    python -m tests.tools.e2e_child aws|local DIR

Synthesis and deploy are only recorded (the deploy "creates" the stack in a :class:`FakeAccount`); the suite is a
real process that sleeps, run by the real :class:`SubprocessRunner`, and the local engine is ``STAND_IN_ENGINE``.
What happens is appended to ``DIR/events.jsonl``; ``DIR/sleeper.pid`` appears once the suite runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.tools.e2e_fakes import SLEEPER, STAND_IN_ENGINE, FakeAccount
from tools.e2e.commands import Command, Process, SubprocessRunner
from tools.e2e.runs import AwsOptions, run_locally, run_on_aws


def main(kind: str, directory: Path) -> int:
    events = directory / "events.jsonl"

    def log(*event: str) -> None:
        with events.open("a") as file:
            file.write(json.dumps(event) + "\n")

    account = FakeAccount(on_delete=lambda name: log("deleted", name))

    class Runner(SubprocessRunner):
        def run(self, command: Command) -> int:
            log("run", command.what)
            if command.what.startswith("deploy"):
                account.deployed(command)
            if command.what.startswith("run the end-to-end suite"):
                return super().run(Command((sys.executable, "-c", SLEEPER, str(directory / "sleeper.pid")), "stand in for the suite"))
            return 0

        def start(self, command: Command, log_file: Path) -> Process:
            log("start", command.what)
            return super().start(Command((sys.executable, "-c", STAND_IN_ENGINE, *command.argv[1:]), command.what, command.env), log_file)

    runner = Runner(echo=sys.stderr)
    if kind == "aws":
        status = run_on_aws(account, runner, directory, AwsOptions())
    else:
        status = run_locally(runner, directory)
    log("exit", str(status))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
