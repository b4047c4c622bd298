"""Synthesize the sample app and normalise its template into the snapshot's text.

What changes without anybody changing the stack is taken out: asset hashes (they follow file contents and
the CDK version; each becomes the asset's display name), the CDK's version-reporting resource and its condition,
and the ``aws:cdk:*`` / ``aws:asset:*`` resource metadata (paths on the machine that synthesized). What the stack
deploys stays, and the workflow's definition, which CloudFormation receives as an S3 asset, is put in whole
(``definitions``): a change to the ASL shows line by line. Keys are sorted, so the text is the same on every machine.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
STACK = "CircuitBreaker"
SNAPSHOT = PROJECT_DIR / "tests" / "cdk" / "snapshots" / f"{STACK}.template.json"
UPDATE_COMMAND = "make snapshot"

_HASH = re.compile(r"[0-9a-f]{64}")
_MACHINE_METADATA = ("aws:cdk:", "aws:asset:")


def synthesize_sample(out_dir: Path) -> Path:
    """The sample app as ``cdk synth`` makes it from ``cdk.json`` alone (no test callees, no e2e stack)."""
    from circuit_breaker.local.deployer import synthesize

    return synthesize(PROJECT_DIR, out_dir, None)


def _labels(assembly: Path) -> dict[str, dict[str, Any]]:
    """Each asset hash -> its display name, and its content when it is a JSON file (a state machine definition)."""
    manifest = json.loads((assembly / f"{STACK}.assets.json").read_text())
    found: dict[str, dict[str, Any]] = {}
    for asset_hash, asset in manifest.get("files", {}).items():
        source = assembly / asset["source"]["path"]
        entry: dict[str, Any] = {"label": f"<asset {asset.get('displayName') or asset['source']['path']}>"}
        if asset["source"].get("packaging") == "file" and source.suffix == ".json" and source.name != f"{STACK}.template.json":
            entry["content"] = json.loads(source.read_text())
        found[asset_hash] = entry
    return found


def _replace_hashes(value: Any, labels: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict):
        return {k: _replace_hashes(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_hashes(v, labels) for v in value]
    if isinstance(value, str):
        return _HASH.sub(lambda m: labels[m.group(0)]["label"] if m.group(0) in labels else "<hash>", value)
    return value


def normalise(assembly: Path) -> dict[str, Any]:
    """The snapshot document: the normalised template, and the definitions it deploys from assets."""
    template = json.loads((assembly / f"{STACK}.template.json").read_text())
    resources = template.get("Resources", {})
    resources.pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if template.get("Conditions") == {}:
        del template["Conditions"]
    for resource in resources.values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            for key in [k for k in metadata if k.startswith(_MACHINE_METADATA)]:
                del metadata[key]
            if not metadata:
                del resource["Metadata"]
    labels = _labels(assembly)
    used = set(_HASH.findall(json.dumps(template)))
    definitions = {labels[h]["label"]: labels[h]["content"] for h in sorted(used) if "content" in labels.get(h, {})}
    return {"template": _replace_hashes(template, labels), "definitions": definitions}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def snapshot_text() -> str:
    """Synthesize the sample app now and render its snapshot."""
    with tempfile.TemporaryDirectory(prefix="breaker-snapshot-") as scratch:
        return render(normalise(synthesize_sample(Path(scratch) / "cdk.out")))
