"""What CloudFormation needs to deploy this app's template on moto: state machines, public parameters."""

from __future__ import annotations

import json
import re
from typing import Any

_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """Apply ``DefinitionSubstitutions`` as CloudFormation does: each ``${key}`` becomes its value."""
    return _SUBSTITUTION.sub(
        lambda match: str(substitutions[match.group(1)]) if match.group(1) in substitutions else match.group(0),
        definition,
    )


def _api_logging(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    return {
        "level": config.get("Level", "OFF"),
        "includeExecutionData": bool(config.get("IncludeExecutionData", False)),
        "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": d.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")}}
            for d in config.get("Destinations", [])
        ],
    }


def state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    """Replaces ``StateMachine.create_from_cloudformation_json`` (as a classmethod).

    Creates the state machine in the backend the executor reads, from ``DefinitionS3Location`` or the
    inline definition, with ``DefinitionSubstitutions``, type, logging and tracing applied.
    """
    from moto.s3.models import s3_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.utils import get_partition

    properties = cloudformation_json["Properties"]
    if "DefinitionS3Location" in properties:
        location = properties["DefinitionS3Location"]
        key = s3_backends[account_id][get_partition(region_name)].get_object(location["Bucket"], location["Key"])
        definition = key.value.decode("utf-8")
    elif "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    else:
        definition = properties.get("DefinitionString", "")
    definition = substitute_definition(definition, properties.get("DefinitionSubstitutions") or {})
    tracing = properties.get("TracingConfiguration")
    return stepfunctions_parser_backends[account_id][region_name].create_state_machine(
        name=properties.get("StateMachineName") or resource_name,
        definition=definition,
        roleArn=properties.get("RoleArn", ""),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])],
        loggingConfiguration=_api_logging(properties.get("LoggingConfiguration")),
        tracingConfiguration={"enabled": bool(tracing.get("Enabled"))} if tracing else None,
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def put_public_parameter(account: str, region: str, name: str, value: str) -> None:
    """Add an AWS-owned SSM parameter (such as a public layer's ARN) to the local account."""
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ssm_backends

    backend = ssm_backends[account][region]
    backend._parameters[name].append(
        Parameter(
            account_id=account,
            name=name,
            value=value,
            parameter_type="String",
            description="public parameter provided by the local engine",
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=len(backend._parameters[name]) + 1,
            data_type="text",
        )
    )
