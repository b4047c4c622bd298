"""Where ``breaker local up`` is serving: a small state file, so ``--local`` follows the port it chose.

``local up`` writes the file when its engine is ready and removes it when it stops; a file left
behind by a process that died is ignored (its process is gone). The file lives in the user's cache
directory (``$XDG_CACHE_HOME/circuit-breaker``, else ``~/.cache/circuit-breaker``), or where
``BREAKER_STATE_DIR`` says.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: Where ``breaker local up`` serves unless told otherwise, and where ``--local`` looks without a state file.
DEFAULT_LOCAL_PORT = 4566
DEFAULT_LOCAL_ENDPOINT = f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}"
#: The local engine's region when nothing else is configured.
DEFAULT_LOCAL_REGION = "us-east-1"

STATE_DIR_VARIABLE = "BREAKER_STATE_DIR"


def state_path() -> Path:
    """The state file of ``breaker local up``."""
    explicit = os.environ.get(STATE_DIR_VARIABLE)
    if explicit:
        return Path(explicit) / "local-engine.json"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "circuit-breaker" / "local-engine.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class LocalEndpoint:
    """A running ``breaker local up``: where it answers, in which region, for which stack."""

    endpoint_url: str
    region: str
    pid: int
    stack_name: str | None = None

    def write(self, path: Path | None = None) -> Path:
        """Record this endpoint (atomically: a reader never sees half a file)."""
        path = path or state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(asdict(self)))
        partial.replace(path)
        return path

    def remove(self, path: Path | None = None) -> None:
        """Forget this endpoint, unless another ``local up`` has written its own since."""
        path = path or state_path()
        if read(path) == self:
            path.unlink(missing_ok=True)

    @classmethod
    def current(cls, path: Path | None = None) -> "LocalEndpoint | None":
        """The endpoint of a ``local up`` that is still running, if any."""
        found = read(path or state_path())
        return found if found is not None and _alive(found.pid) else None


def read(path: Path) -> LocalEndpoint | None:
    """The endpoint recorded in ``path``; ``None`` when there is none or it is unreadable."""
    try:
        document = json.loads(path.read_text())
        return LocalEndpoint(
            endpoint_url=str(document["endpoint_url"]),
            region=str(document["region"]),
            pid=int(document["pid"]),
            stack_name=document.get("stack_name"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
