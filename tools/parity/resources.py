"""What a recorded test created before it ran: functions, a table, an event route, a log group.

Each replay gets fresh names (``parity-<n>-...``), so replays never see each other's resources; functions
are named as the recorded tests named theirs (``lambda_func_`` and 8 hexadecimal digits), because a name
a function echoes counts in the ``Content-Length`` AWS recorded;
:class:`Resources` keeps them, the tokens recipes use for them and the placeholders the recording
wrote them as.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from tools.parity import functions
from tools.parity.recipes import Recipe

_counter = itertools.count(1)
_function_ids = itertools.count(0x10000000)
_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}],
    }
)


@dataclass
class Resources:
    """The names of one replay's resources, as tokens and as recorded placeholders."""

    prefix: str
    role_arn: str
    tokens: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    """Real name -> the placeholder the recording used for it."""
    log_group: str | None = None
    created: dict[str, Any] = field(default_factory=dict)
    """API answers of the setup a recording holds too (``create_activity_output``)."""

    def fill(self, text: str) -> str:
        """Replace the recipe tokens (``{{fn.arn}}``...) in ``text``."""
        for token, value in self.tokens.items():
            text = text.replace("{{" + token + "}}", value)
        return text


def _role(session: Any) -> str:
    iam = session.client("iam")
    try:
        return iam.get_role(RoleName="parity-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="parity-role", AssumeRolePolicyDocument=_ROLE_POLICY)["Role"]["Arn"]


def create(session: Any, recipe: Recipe) -> Resources:
    """Create what ``recipe`` needs on the engine behind ``session``."""
    prefix = f"parity-{next(_counter)}"
    resources = Resources(prefix=prefix, role_arn=_role(session))
    resources.tokens["prefix"] = prefix.replace("-", "_")
    lambda_client = session.client("lambda")
    for index, function in enumerate(recipe.functions, start=1):
        slot = "fn" if index == 1 else f"fn{index}"
        name = f"lambda_func_{next(_function_ids):08x}"
        arn = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=resources.role_arn,
            Handler=functions.HANDLER,
            Code={"ZipFile": functions.package(function.handler)},
            Timeout=function.timeout,
        )["FunctionArn"]
        resources.tokens[f"{slot}.arn"] = arn
        resources.tokens[f"{slot}.name"] = name
        resources.placeholders[name] = function.placeholder
    if recipe.table is not None:
        name = f"{prefix}-table"
        session.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        resources.tokens["table"] = name
        resources.placeholders[name] = recipe.table
    if recipe.activity is not None:
        created = session.client("stepfunctions").create_activity(name=f"{prefix}-activity")
        resources.tokens["activity.arn"] = created["activityArn"]
        resources.placeholders[created["activityArn"]] = recipe.activity
        resources.created["create_activity_output"] = created
    if recipe.bucket is not None:
        name = f"{prefix}-bucket"
        session.client("s3").create_bucket(Bucket=name)
        resources.tokens["bucket"] = name
        resources.placeholders[name] = recipe.bucket
    return resources


#: Items of the harness's own, after the recorded ones in a :data:`RECORDED_ITEMS` object.
UNREAD_ITEMS = ({"harness_item": "left unread by MaxItems"}, {"harness_item": "left unread too"})


def put_objects(session: Any, resources: Resources, recipe: Recipe, recorded_items: list[Any]) -> None:
    """Put the recipe's objects in its bucket (JSON), ``RECORDED_ITEMS`` as the recorded items then :data:`UNREAD_ITEMS`."""
    from tools.parity.recipes import RECORDED_ITEMS

    s3 = session.client("s3")
    for key, content in recipe.bucket_objects.items():
        value = [*recorded_items, *UNREAD_ITEMS] if content is RECORDED_ITEMS else content
        s3.put_object(Bucket=resources.tokens["bucket"], Key=key, Body=json.dumps(value).encode())


def create_log_group(session: Any, resources: Resources) -> str:
    """A log group for the state machine's logging; returns its ARN."""
    name = f"/parity/{resources.prefix}"
    logs = session.client("logs")
    logs.create_log_group(logGroupName=name)
    resources.log_group = name
    return logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]


def route_events_to_queue(session: Any, resources: Resources, pattern: dict[str, Any]) -> str:
    """An SQS queue receiving the default bus's events that match ``pattern``; returns its URL."""
    sqs = session.client("sqs")
    events = session.client("events")
    url = sqs.create_queue(QueueName=f"{resources.prefix}-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{resources.prefix}-rule"
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])
    resources.tokens["queue_url"] = url
    resources.placeholders[url] = "<sqs_queue_url>"
    return url
