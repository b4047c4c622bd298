"""Deploy a synthesized cloud assembly onto the local engine, the way ``cdk deploy`` does on AWS.

``cdk deploy`` publishes the stack's assets to the bootstrap bucket, then asks CloudFormation to
create the stack from the template. This module does the same against moto: it reads the
assembly's manifests, stands in for the bootstrap resources (assets bucket, bootstrap version
parameter), uploads every file asset (zipping directories like cdk-assets does), resolves the
template's SSM parameters, and creates the stack with moto's CloudFormation. What runs locally is
therefore the template and code ``cdk deploy`` ships, not a copy written by hand.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

#: The bootstrap qualifier of CDK's default synthesizer (``hnb659fds``) and a bootstrap version it accepts.
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
BOOTSTRAP_VERSION = "30"

#: Public SSM parameters that name Lambda layers, and the stand-in layer that takes their place.
#: Handlers run in this process, where the layer's libraries come from the virtualenv instead.
LAYER_PARAMETER_PREFIXES = ("/aws/service/powertools/",)
STAND_IN_LAYER_NAME = "local-stand-in-layer"


class AssemblyError(Exception):
    """The cloud assembly is missing, incomplete, or cannot be deployed locally."""


@dataclass(frozen=True)
class StackArtifact:
    """A stack of a cloud assembly: its template and the asset manifest that goes with it."""

    name: str
    template: dict[str, Any]
    assets: dict[str, Any]
    directory: Path
    tags: dict[str, str] = field(default_factory=dict)
    """The stack's tags (``Tags.of(stack)``), which ``cdk deploy`` gives CloudFormation with the stack."""


def load_stack(assembly_dir: Path, stack_name: str | None = None) -> StackArtifact:
    """Read ``stack_name`` from the assembly in ``assembly_dir`` (what ``cdk synth`` wrote); ``None``: its only stack."""
    manifest_path = assembly_dir / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"no cloud assembly in {assembly_dir} (manifest.json missing); run `make synth` first")
    artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
    stacks = {name: a for name, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"}
    if stack_name is None:
        if len(stacks) != 1:
            raise AssemblyError(
                f"the assembly at {assembly_dir} has {len(stacks)} stacks ({', '.join(sorted(stacks)) or 'none'}): name the one to deploy"
            )
        stack_name = next(iter(stacks))
    if stack_name not in stacks:
        raise AssemblyError(
            f"stack {stack_name!r} is not in the assembly at {assembly_dir}; it has: {', '.join(sorted(stacks)) or 'none'}"
        )
    properties = stacks[stack_name]["properties"]
    template = json.loads((assembly_dir / properties["templateFile"]).read_text())
    assets: dict[str, Any] = {"files": {}}
    for dependency in stacks[stack_name].get("dependencies", []):
        artifact = artifacts.get(dependency, {})
        if artifact.get("type") == "cdk:asset-manifest":
            manifest = json.loads((assembly_dir / artifact["properties"]["file"]).read_text())
            assets["files"].update(manifest.get("files", {}))
            if manifest.get("dockerImages"):
                raise AssemblyError(f"stack {stack_name!r} has Docker image assets, which the local engine cannot build")
    tags = {str(k): str(v) for k, v in (properties.get("tags") or {}).items()}
    return StackArtifact(name=stack_name, template=template, assets=assets, directory=assembly_dir, tags=tags)


def project_context(project_dir: Path) -> dict[str, Any]:
    """The context the CDK CLI would give the app: ``cdk.json``'s, overridden by ``cdk.context.json``'s."""
    cdk_json = project_dir / "cdk.json"
    if not cdk_json.is_file():
        raise AssemblyError(f"{project_dir} is not a CDK project (no cdk.json); run from the project or pass --assembly")
    context = dict(json.loads(cdk_json.read_text()).get("context", {}))
    saved = project_dir / "cdk.context.json"
    if saved.is_file():
        context.update(json.loads(saved.read_text()))
    return context


def synthesize(project_dir: Path, out_dir: Path, context: Mapping[str, Any] | None = None) -> Path:
    """Run the CDK app of ``project_dir`` into ``out_dir`` as ``cdk synth`` does.

    Like the CLI, it hands the app ``cdk.json``'s context (``CDK_CONTEXT_JSON``) and the output
    directory (``CDK_OUTDIR``); ``context`` overrides top-level keys, like ``cdk synth -c key=value``.
    """
    merged = {**project_context(project_dir), **dict(context or {})}
    command = json.loads((project_dir / "cdk.json").read_text()).get("app", "")
    if not command.startswith("python"):
        raise AssemblyError(f"cdk.json's app command {command!r} is not a Python app")
    out_dir.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ)
    environment["CDK_OUTDIR"] = str(out_dir)
    environment["CDK_CONTEXT_JSON"] = json.dumps(merged)
    argv = [sys.executable, *command.split()[1:]]
    completed = subprocess.run(argv, cwd=project_dir, env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        raise AssemblyError(f"synthesis failed ({' '.join(argv)}):\n{completed.stderr.strip()}")
    return out_dir


def _zip_directory(directory: Path) -> bytes:
    """Zip a directory asset deterministically (sorted entries, fixed timestamps), as cdk-assets does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _placeholders(text: str, account: str, region: str) -> str:
    return text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")


class LocalDeployer:
    """Deploys stacks with boto3 clients that talk to the engine (moto), in one account and region."""

    def __init__(
        self, session: Any, account: str, region: str, put_public_parameter: Callable[[str, str], None]
    ) -> None:
        self.session = session
        self.account = account
        self.region = region
        #: Writes an AWS-owned parameter (under ``/aws/``), which the SSM API refuses to write.
        self.put_public_parameter = put_public_parameter

    def _bootstrap(self) -> str:
        """The bootstrap bucket and version parameter that ``cdk bootstrap`` would have created."""
        bucket = f"cdk-hnb659fds-assets-{self.account}-{self.region}"
        s3 = self.session.client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
        self.session.client("ssm").put_parameter(
            Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
        )
        return bucket

    def _publish_assets(self, stack: StackArtifact) -> None:
        s3 = self.session.client("s3")
        for asset_id, asset in stack.assets["files"].items():
            source = stack.directory / asset["source"]["path"]
            if not source.exists():
                raise AssemblyError(f"asset {asset_id} ({asset.get('displayName', '')}) is missing at {source}")
            if asset["source"].get("packaging") == "zip" and source.is_dir():
                body = _zip_directory(source)
            else:
                body = source.read_bytes()
            for destination in asset["destinations"].values():
                s3.put_object(
                    Bucket=_placeholders(destination["bucketName"], self.account, self.region),
                    Key=_placeholders(destination["objectKey"], self.account, self.region),
                    Body=body,
                )

    def _stand_in_layer(self) -> str:
        """A local layer version to answer public layer parameters with (its contents are never run)."""
        lambda_client = self.session.client("lambda")
        versions = lambda_client.list_layer_versions(LayerName=STAND_IN_LAYER_NAME).get("LayerVersions", [])
        if versions:
            return versions[0]["LayerVersionArn"]
        empty = io.BytesIO()
        zipfile.ZipFile(empty, "w").close()
        published = lambda_client.publish_layer_version(
            LayerName=STAND_IN_LAYER_NAME,
            Description="Stands in for public layers: handlers run in-process with the virtualenv's libraries",
            Content={"ZipFile": empty.getvalue()},
        )
        return published["LayerVersionArn"]

    def _resolve_ssm_parameters(self, stack: StackArtifact) -> None:
        """Provide every public SSM parameter the template reads, or fail naming an unknown one."""
        for logical_id, parameter in stack.template.get("Parameters", {}).items():
            if not str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                continue
            name = parameter.get("Default")
            if name == BOOTSTRAP_VERSION_PARAMETER:
                continue
            if name and name.startswith(LAYER_PARAMETER_PREFIXES):
                self.put_public_parameter(name, self._stand_in_layer())
                continue
            raise AssemblyError(
                f"template parameter {logical_id} reads SSM parameter {name!r}, which the local engine does not "
                "provide; put it into the engine's SSM before deploying"
            )

    def deploy(self, stack: StackArtifact) -> dict[str, str]:
        """Create the stack with its tags (as ``cdk deploy`` would) and return its outputs."""
        self._bootstrap()
        self._publish_assets(stack)
        self._resolve_ssm_parameters(stack)
        cloudformation = self.session.client("cloudformation")
        cloudformation.create_stack(
            StackName=stack.name,
            TemplateBody=json.dumps(stack.template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=[{"Key": key, "Value": value} for key, value in sorted(stack.tags.items())],
        )
        described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
        if described["StackStatus"] != "CREATE_COMPLETE":
            raise AssemblyError(f"stack {stack.name} ended in {described['StackStatus']}: {described.get('StackStatusReason', '')}")
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
