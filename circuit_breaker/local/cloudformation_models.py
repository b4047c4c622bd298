"""Resource types the local engine's CloudFormation needs and moto's lacks.

moto's CloudFormation skips ``AWS::Logs::MetricFilter``, ``AWS::CloudWatch::Alarm`` (and then
fails on anything that references an alarm, such as a dashboard's alarm widget),
``AWS::SQS::QueuePolicy`` and ``AWS::Scheduler::ScheduleGroup`` / ``AWS::Scheduler::Schedule`` (the
health checks' schedules). These models create them through moto's own Logs, CloudWatch, SQS and
Scheduler backends, so a template with monitoring, a dead-letter queue and health checks deploys
locally with its filters, alarms, queue policy and schedules in place (schedules never fire locally:
``breaker health-check run`` runs one). moto finds CloudFormation models among the
subclasses of ``CloudFormationModel``; :func:`register` defines them and refreshes moto's cached map.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from moto.core.common_models import CloudFormationModel


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


class _BackendResource:
    """What each model here shares: a resource of a moto backend, named by its ``name``, with an ``Arn``.

    A mixin, not a base class: moto finds models among the *direct* subclasses of ``CloudFormationModel``.
    """

    CFN_TYPE = ""
    NAME_PROPERTY = ""
    ARN_ATTRIBUTE: str | None = None

    def __init__(self, resource: Any) -> None:
        self.resource = resource

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @property
    def physical_resource_id(self) -> str:
        return str(self.resource.name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return cls.ARN_ATTRIBUTE is not None and attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if self.ARN_ATTRIBUTE is not None and attribute_name == "Arn":
            return str(getattr(self.resource, self.ARN_ATTRIBUTE))
        raise AttributeError(attribute_name)


class MetricFilterModel(_BackendResource, CloudFormationModel):
    """``AWS::Logs::MetricFilter``, created with moto's Logs backend."""

    CFN_TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"

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
        return cls(SimpleNamespace(name=name, log_group_name=properties["LogGroupName"]))


class AlarmModel(_BackendResource, CloudFormationModel):
    """``AWS::CloudWatch::Alarm`` (single-metric alarms), created with moto's CloudWatch backend."""

    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ARN_ATTRIBUTE = "alarm_arn"

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


class QueuePolicyModel(_BackendResource, CloudFormationModel):
    """``AWS::SQS::QueuePolicy``: the policy document set on each of its queues (moto's SQS backend)."""

    CFN_TYPE = "AWS::SQS::QueuePolicy"

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
        return cls(SimpleNamespace(name=resource_name))


class ScheduleGroupModel(_BackendResource, CloudFormationModel):
    """``AWS::Scheduler::ScheduleGroup``, created with moto's Scheduler backend."""

    CFN_TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"
    ARN_ATTRIBUTE = "arn"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "ScheduleGroupModel":
        from moto.scheduler.models import scheduler_backends

        properties = cloudformation_json.get("Properties", {})
        group = scheduler_backends[account_id][region_name].create_schedule_group(
            name=properties.get("Name") or resource_name, tags=properties.get("Tags", [])
        )
        return cls(group)


class ScheduleModel(_BackendResource, CloudFormationModel):
    """``AWS::Scheduler::Schedule``, created (never fired) with moto's Scheduler backend."""

    CFN_TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ARN_ATTRIBUTE = "arn"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "ScheduleModel":
        from moto.scheduler.models import scheduler_backends

        p = cloudformation_json["Properties"]
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=p.get("Description"),
            end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"],
            group_name=p.get("GroupName"),
            kms_key_arn=p.get("KmsKeyArn"),
            name=p.get("Name") or resource_name,
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State"),
            target=dict(p["Target"]),
            action_after_completion=None,
        )
        return cls(schedule)


def register() -> None:
    """Make moto's CloudFormation see the models above (its model map is cached on first use)."""
    from moto.cloudformation.parsing import get_model_map

    get_model_map.cache_clear()
