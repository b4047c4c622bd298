"""The files the construct deploys: the state machine's definition, the health-check function, the extension layer.

The definition is ``statemachine/`` at the top of a checkout (the repository's layout) and ``circuit_breaker/statemachine/``
in the wheel: :func:`definition_path` looks in both, so the construct synthesizes from a checkout with only the
requirements installed, or wherever the wheel is installed.

The Lambda code (``circuit_breaker/lambdas/``) runs :mod:`circuit_breaker.core` (the circuit item's model above
all), so each asset is a small tree of the package's own files, copied from wherever the package is into a
directory named after its content: the same code always makes the same asset.

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
from pathlib import Path

from circuit_breaker.lambdas.circuit_extension.lifecycle import EXTENSION_NAME as EXTENSION_EXECUTABLE

HEALTH_CHECK_HANDLER = "circuit_breaker.lambdas.health_check.index.handler"
EXTENSION_CODE_DIR = "circuit-breaker-extension"
DEFINITION_FILE = "circuit_breaker.asl.json"

#: The installed package (a checkout's ``circuit_breaker/``, or site-packages' in the wheel).
PACKAGE_DIR = Path(__file__).resolve().parent.parent


class AssetNotFoundError(FileNotFoundError):
    """A file the construct deploys is missing: the checkout or the installation is incomplete."""


def definition_path() -> Path:
    """The ASL file: in the wheel inside the package, in a checkout at the top (``statemachine/``)."""
    for candidate in (PACKAGE_DIR / "statemachine" / DEFINITION_FILE, PACKAGE_DIR.parent / "statemachine" / DEFINITION_FILE):
        if candidate.is_file():
            return candidate
    raise AssetNotFoundError(
        f"the state machine definition {DEFINITION_FILE} is neither in {PACKAGE_DIR / 'statemachine'} (an installed wheel) "
        f"nor in {PACKAGE_DIR.parent / 'statemachine'} (a checkout): reinstall the package, or restore the file"
    )


def _modules(name: str) -> dict[str, Path]:
    """The package's files in the asset (by path in the asset), and where each comes from: the package's face,
    :mod:`circuit_breaker.core` whole, and the function's own package under ``lambdas/``."""
    files = {"circuit_breaker/__init__.py": PACKAGE_DIR / "__init__.py", "circuit_breaker/lambdas/__init__.py": PACKAGE_DIR / "lambdas" / "__init__.py"}
    for folder in (PACKAGE_DIR / "core", PACKAGE_DIR / "lambdas" / name):
        for source in sorted(folder.glob("*.py")):
            files[str(Path("circuit_breaker") / source.relative_to(PACKAGE_DIR))] = source
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
    files[launcher] = PACKAGE_DIR / "lambdas" / "circuit_extension" / EXTENSION_EXECUTABLE
    return _stage("circuit-extension", files, frozenset({launcher}))
