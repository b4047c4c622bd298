"""Resource types the local engine's CloudFormation needs and moto's lacks.

moto's CloudFormation skips ``AWS::Logs::MetricFilter``, ``AWS::CloudWatch::Alarm`` (and then
fails on anything that references an alarm, such as a dashboard's alarm widget) and
``AWS::SQS::QueuePolicy``. These models create them through moto's own Logs, CloudWatch and SQS
backends, so a template with monitoring and a dead-letter queue deploys locally with its filters,
alarms and queue policy in place. moto finds CloudFormation models among the
subclasses of ``CloudFormationModel``; :func:`register` defines them and refreshes moto's cached map.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


class MetricFilterModel(CloudFormationModel):
    """``AWS::Logs::MetricFilter``, created with moto's Logs backend."""

    def __init__(self, name: str, log_group_name: str) -> None:
        self.name = name
        self.log_group_name = log_group_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FilterName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::MetricFilter"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "MetricFilterModel":
        from moto.logs.models import logs_backends

        properties = cloudformation_json["Properties"]
        name = properties.get("FilterName") or resource_name
        transformations = [
            {_camel(key): value for key, value in transformation.items()}
            for transformation in properties["MetricTransformations"]
        ]
        logs_backends[account_id][region_name].put_metric_filter(
            name, properties["FilterPattern"], properties["LogGroupName"], transformations
        )
        return cls(name, properties["LogGroupName"])


class AlarmModel(CloudFormationModel):
    """``AWS::CloudWatch::Alarm`` (single-metric alarms), created with moto's CloudWatch backend."""

    def __init__(self, alarm: Any) -> None:
        self.alarm = alarm

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.alarm.alarm_arn
        raise AttributeError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "AlarmModel":
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName") or resource_name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            treat_missing_data=p.get("TreatMissingData"),
            actions_enabled=p.get("ActionsEnabled", True),
        )
        return cls(alarm)


class QueuePolicyModel(CloudFormationModel):
    """``AWS::SQS::QueuePolicy``: the policy document set on each of its queues (moto's SQS backend)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "QueuePolicyModel":
        import json

        from moto.sqs.models import sqs_backends

        properties = cloudformation_json["Properties"]
        backend = sqs_backends[account_id][region_name]
        for url in properties.get("Queues", []):
            backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": json.dumps(properties["PolicyDocument"])})
        return cls(resource_name)


def register() -> None:
    """Make moto's CloudFormation see the models above (its model map is cached on first use)."""
    from moto.cloudformation.parsing import get_model_map

    get_model_map.cache_clear()
