"""The code the construct deploys, laid out as Lambda expects it: the health-check function and the extension layer.

Both run modules of this package (the circuit item's model, :mod:`circuit_breaker.record`, above
all), so each asset is a small tree of the package's own files, copied from wherever it is
installed (a checkout, or the wheel, which ships the repository's Lambda code as the package
``circuit_breaker.lambdas``) into a directory named after its content: the same code always makes
the same asset.

- The function's asset holds the package at its root; its handler is :data:`HEALTH_CHECK_HANDLER`.
- The layer holds the executable Lambda starts, ``/opt/extensions/circuit-breaker``, and the code it
  runs in ``/opt/circuit-breaker-extension``, not in ``/opt/python``: the function never imports the
  extension's partial copy of ``circuit_breaker`` instead of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from circuit_breaker.lambdas.circuit_extension.lifecycle import EXTENSION_NAME as EXTENSION_EXECUTABLE

HEALTH_CHECK_HANDLER = "circuit_breaker.lambdas.health_check.index.handler"
EXTENSION_CODE_DIR = "circuit-breaker-extension"

#: Modules of the package each asset needs besides its own ``lambdas/`` package (tests import them in isolation).
SHARED_MODULES = {
    "health_check": ("__init__.py", "record.py", "settings.py", "health.py", "transitions.py", "lambdas/__init__.py"),
    "circuit_extension": ("__init__.py", "record.py", "extension_api.py", "lambdas/__init__.py"),
}


def _package_file(relative: str) -> Path:
    """A file of the installed package (the Lambda code resolves through pyproject.toml's package-dir mapping)."""
    parts = relative.split("/")
    package = ".".join(["circuit_breaker", *parts[:-1]])
    return Path(str(resources.files(package) / parts[-1]))


def _modules(name: str) -> dict[str, Path]:
    """The package's files in the asset (by path in the asset), and where each comes from."""
    files = {f"circuit_breaker/{relative}": _package_file(relative) for relative in SHARED_MODULES[name]}
    package = Path(str(resources.files(f"circuit_breaker.lambdas.{name}")))
    for source in sorted(package.glob("*.py")):
        files[f"circuit_breaker/lambdas/{name}/{source.name}"] = source
    return files


def _stage(name: str, files: dict[str, Path], executables: frozenset[str] = frozenset()) -> Path:
    """Copy ``files`` into a directory named after their content (reused when it exists); returns it."""
    digest = hashlib.sha256()
    for target in sorted(files):
        digest.update(f"{target}\0{target in executables}\0".encode())
        digest.update(files[target].read_bytes())
    root = Path(tempfile.gettempdir()) / "circuit-breaker-assets"
    staged = root / f"{name}-{digest.hexdigest()[:20]}"
    if staged.is_dir():
        return staged
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    for target, source in files.items():
        destination = building / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        os.chmod(destination, 0o755 if target in executables else 0o644)
    os.chmod(building, 0o755)
    try:
        os.replace(building, staged)
    except OSError:  # another synth staged the same content first
        shutil.rmtree(building, ignore_errors=True)
    return staged


def health_check_code() -> Path:
    """The health-check function's asset directory."""
    return _stage("health-check", _modules("health_check"))


def extension_layer_code() -> Path:
    """The extension layer's asset directory."""
    files = {f"{EXTENSION_CODE_DIR}/{target}": source for target, source in _modules("circuit_extension").items()}
    launcher = f"extensions/{EXTENSION_EXECUTABLE}"
    files[launcher] = _package_file(f"lambdas/circuit_extension/{EXTENSION_EXECUTABLE}")
    return _stage("circuit-extension", files, frozenset({launcher}))
