"""What a million calls cost on AWS, from list prices and each path's measured work.

Prices are AWS's public list prices in us-east-1 (checked 2026-11); each carries its source. The
work of a path (requests, DynamoDB reads and writes, Lambda invocations, log bytes, transitions)
comes from the benchmarks on the local engine; what the engine cannot measure (AWS latencies, hence
Express duration) is an assumption stated next to the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEP_FUNCTIONS_PRICING = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
EVENTBRIDGE_PRICING = "https://aws.amazon.com/eventbridge/pricing/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


EXPRESS_REQUEST = Price(1.00 / 1_000_000, "Express request", STEP_FUNCTIONS_PRICING)
EXPRESS_GB_SECOND = Price(0.00001667, "Express GB-second (billed per 100 ms, in 64-MB chunks)", STEP_FUNCTIONS_PRICING)
STANDARD_TRANSITION = Price(0.025 / 1_000, "Standard state transition (retries count)", STEP_FUNCTIONS_PRICING)
LAMBDA_REQUEST = Price(0.20 / 1_000_000, "Lambda request", LAMBDA_PRICING)
LAMBDA_GB_SECOND = Price(0.0000166667, "Lambda GB-second (x86, billed per ms)", LAMBDA_PRICING)
DYNAMODB_READ = Price(0.125 / 1_000_000, "DynamoDB read request unit (a strongly consistent read up to 4 KB)", DYNAMODB_PRICING)
DYNAMODB_WRITE = Price(0.625 / 1_000_000, "DynamoDB write request unit (a write up to 1 KB)", DYNAMODB_PRICING)
EVENTBRIDGE_EVENT = Price(1.00 / 1_000_000, "EventBridge custom event", EVENTBRIDGE_PRICING)
LOGS_GB = Price(0.50, "CloudWatch Logs ingested GB (vended logs, first tier)", CLOUDWATCH_PRICING)
# What a deployed stack costs while it exists (``make e2e-aws``'s stack lives well under an hour); CloudWatch
# prorates these by the hour, a metric only in hours it receives data.
CUSTOM_METRIC_MONTH = Price(0.30, "CloudWatch custom metric-month (first 10,000 metrics)", CLOUDWATCH_PRICING)
ALARM_MONTH = Price(0.10, "CloudWatch standard-resolution alarm-month", CLOUDWATCH_PRICING)
DASHBOARD_MONTH = Price(3.00, "CloudWatch dashboard-month (beyond the 3 free)", CLOUDWATCH_PRICING)
HOURS_PER_MONTH = 730

PRICES = (EXPRESS_REQUEST, EXPRESS_GB_SECOND, STANDARD_TRANSITION, LAMBDA_REQUEST, LAMBDA_GB_SECOND, DYNAMODB_READ, DYNAMODB_WRITE, EVENTBRIDGE_EVENT, LOGS_GB)

#: Assumed AWS latencies, which the local engine cannot measure.
DYNAMODB_MS = 10.0
LAMBDA_INVOKE_MS = 80.0  # a warm invoke including 50 ms of callee work
CALLEE_MEMORY_GB = 0.125  # the sample callees run with 128 MB
CALLEE_BILLED_MS = 50.0
STATUS_LAMBDA_BILLED_MS = 20.0  # the reference sample's GetCircuitStatus / UpdateCircuitStatus
EXPRESS_MEMORY_GB = 0.0625  # one 64-MB chunk: the definition and payloads are small


@dataclass(frozen=True)
class Work:
    """What one call does on one path (averages when paths mix)."""

    reads: float = 0.0
    writes: float = 0.0
    callee_invocations: float = 0.0
    status_lambdas: float = 0.0
    events: float = 0.0
    log_bytes: float = 0.0
    transitions: float = 0.0
    backoff_seconds: float = 0.0

    @classmethod
    def from_figures(cls, figures: dict) -> "Work":
        """The work recorded in a path's figures (``docs/path-costs.json`` also holds outcomes and timings)."""
        return cls(**{name: figures[name] for name in cls.__dataclass_fields__ if name in figures})

    @classmethod
    def average(cls, weighted: list[tuple[float, "Work"]]) -> "Work":
        """The average call of a mix of paths, each with its share of the calls (shares need not add up to 1)."""
        total = sum(weight for weight, _ in weighted)
        if total <= 0:
            raise ValueError("a mix of paths needs at least one path with a positive share")
        return cls(**{f: sum(weight * getattr(work, f) for weight, work in weighted) / total for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Cost:
    """Cost per million calls, by line item (USD)."""

    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def express_duration_units(work: Work) -> int:
    """100-ms units an Express execution of this path is billed for, from the assumed latencies."""
    milliseconds = (work.reads + work.writes + work.events) * DYNAMODB_MS + work.callee_invocations * LAMBDA_INVOKE_MS + work.backoff_seconds * 1000
    return max(1, math.ceil(milliseconds / 100))


def callee_cost(invocations: float) -> float:
    return invocations * (LAMBDA_REQUEST.usd + CALLEE_MEMORY_GB * CALLEE_BILLED_MS / 1000 * LAMBDA_GB_SECOND.usd)


def this_breaker(work: Work) -> Cost:
    """Per million calls on an Express workflow with logging ALL."""
    units = express_duration_units(work)
    million = 1_000_000
    return Cost(
        {
            "Step Functions": million * (EXPRESS_REQUEST.usd + units * EXPRESS_MEMORY_GB * 0.1 * EXPRESS_GB_SECOND.usd),
            "DynamoDB": million * (work.reads * DYNAMODB_READ.usd + work.writes * DYNAMODB_WRITE.usd),
            "callee Lambda": million * callee_cost(work.callee_invocations),
            "status Lambdas": 0.0,
            "EventBridge": million * work.events * EVENTBRIDGE_EVENT.usd,
            "CloudWatch Logs": million * work.log_bytes / 1e9 * LOGS_GB.usd,
        }
    )


def reference_sample(work: Work) -> Cost:
    """Per million calls on the reference sample: a Standard workflow plus its status Lambdas."""
    million = 1_000_000
    status = work.status_lambdas * (LAMBDA_REQUEST.usd + CALLEE_MEMORY_GB * STATUS_LAMBDA_BILLED_MS / 1000 * LAMBDA_GB_SECOND.usd)
    return Cost(
        {
            "Step Functions": million * work.transitions * STANDARD_TRANSITION.usd,
            "DynamoDB": million * (work.reads * DYNAMODB_READ.usd + work.writes * DYNAMODB_WRITE.usd),
            "callee Lambda": million * callee_cost(work.callee_invocations),
            "status Lambdas": million * status,
            "EventBridge": 0.0,
            "CloudWatch Logs": 0.0,
        }
    )
