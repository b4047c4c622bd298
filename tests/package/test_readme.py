"""The README and the package's docstrings say true things.

The README's ``python`` blocks are the example app ``tests/package/test_install.py`` installs and runs; here:
its aws CLI block runs as written (with the real aws CLI, on the served engine; that it fails without
the host-prefix switch is shown with boto3 in ``tests/engine/test_sync_execution.py``), the package's
docstrings cite files that exist, and ``make bench``'s duration is given as one figure.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.package.readme import README, bash_block, python_files

PROJECT_DIR = README.parent
#: The address the README's commands use (breaker local up's default); the test serves on a free port.
README_ENDPOINT = "http://127.0.0.1:4566"
AWS = shutil.which("aws", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def aws_env(tmp_path: Path) -> dict[str, str]:
    """A shell with no AWS configuration of its own (no ~/.aws, no AWS_* variables), the aws CLI on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)
    env["PATH"] = os.pathsep.join([str(Path(AWS).parent), env.get("PATH", "")]) if AWS else env.get("PATH", "")
    return env


@pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed (requirements-dev.txt pins awscli)")
def test_the_aws_cli_block_calls_the_served_engine_as_written(endpoint: str, breaker: object, tmp_path: Path) -> None:
    script = bash_block("start-sync-execution", "AWS_DISABLE_HOST_PREFIX_INJECTION")
    assert README_ENDPOINT in script
    ran = subprocess.run(["bash", "-c", script.replace(README_ENDPOINT, endpoint)], env=aws_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"order": 42}
    assert ":express:" in answer["executionArn"] and answer["billingDetails"]["billedMemoryUsedInMB"] == 64


def test_every_python_block_is_a_named_file_of_the_example_app() -> None:
    files = python_files()  # raises on a block without its '# path.py' line
    assert {"app.py", "stacks/shop.py", "lambdas/payment/index.py", "lambdas/checkout/index.py", "try_it.py"} == set(files)


#: A file a docstring cites: a path with a directory, or a name with one of these extensions (this repository's
#: paths are lower case; ``Shop/Breaker`` is a construct path).
_CITED = re.compile(r"(?<![\w/.:-])((?:[a-z_][\w.-]*/)+[\w.-]*|[\w-]+\.(?:py|md|json|toml|txt))(?![\w/])")


def _in_repository(cited: str) -> str:
    """A path of the installed package, as the repository holds it (pyproject.toml's package-dir)."""
    package_dir = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, directory in package_dir.items():
        installed = package.replace(".", "/") + "/"
        if cited.startswith(installed):
            return directory + "/" + cited[len(installed):]
    return cited


def _docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text())
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return "\n".join(ast.get_docstring(node) or "" for node in ast.walk(tree) if isinstance(node, kinds))


def _modules() -> list[str]:
    return sorted(p.relative_to(PROJECT_DIR).as_posix() for p in (PROJECT_DIR / "circuit_breaker").rglob("*.py"))


@pytest.mark.parametrize("module", _modules())
def test_the_package_docstrings_cite_files_that_exist(module: str) -> None:
    text = _docstrings(PROJECT_DIR / module)
    cited = {c for c in _CITED.findall(text) if not c.startswith(("http", "arn", "/aws/", "s3"))}
    here = (PROJECT_DIR / module).parent
    missing = [
        c for c in cited
        if not any((base / _in_repository(c)).exists() for base in (PROJECT_DIR, PROJECT_DIR / "circuit_breaker", here))
    ]
    assert missing == [], f"{module} cites files that do not exist: {missing}"
    assert "DESIGN" not in text, f"{module} cites DESIGN.md, which is not in this repository"


def test_make_bench_takes_one_figure_everywhere() -> None:
    said = re.findall(r"bench\b[^\n]*?\(about ([^):]+)", README.read_text() + (PROJECT_DIR / "Makefile").read_text())
    assert len(said) >= 2 and len(set(said)) == 1, said
