"""What one ``make e2e-aws`` costs, priced with the project's cost model (``benchmarks/cost_model.py``).

The suite's own work (executions, the workflow's reads, writes, invocations, events and log bytes) was counted
from the execution log group after a run on the local engine, which runs the same definition; what only AWS does
(the scheduled health check every minute while the stack lives, the extension check, the metric data-point test)
and what the CLI and the tests read and write besides are counted from the tests. The README's first-deploy
checklist shows :func:`cost_table` (``python -m tools.e2e cost`` prints it; a test keeps the two equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.cost_model import (
    ALARM_MONTH,
    CUSTOM_METRIC_MONTH,
    DASHBOARD_MONTH,
    DYNAMODB_MS,
    DYNAMODB_READ,
    DYNAMODB_WRITE,
    EVENTBRIDGE_EVENT,
    EXPRESS_GB_SECOND,
    EXPRESS_MEMORY_GB,
    EXPRESS_REQUEST,
    HOURS_PER_MONTH,
    LAMBDA_GB_SECOND,
    LAMBDA_INVOKE_MS,
    LAMBDA_REQUEST,
    LOGS_GB,
)


@dataclass(frozen=True)
class SuiteWork:
    """What one run does on AWS (the defaults: the suite of this commit, its stack of 7 callees)."""

    executions: int = 34  # 33 on the local engine's log group, and the metric test's call
    workflow_reads: int = 31
    workflow_writes: int = 23
    workflow_invocations: int = 24
    workflow_events: int = 7
    backoff_seconds: int = 6  # two calls of three attempts: 1 s + 2 s each
    execution_log_bytes: int = 1_000_000  # 985 KB measured: the 20 KB payload is logged in each of its records
    other_reads: int = 85  # the CLI's resets, status, isolate and redrive, the tests' item reads, the extension's
    other_writes: int = 25  # resets and isolations; the manual health check's count
    other_events: int = 20  # the operators' transition events
    stack_minutes: int = 20  # deploy, the suite (its waits for logs and metrics), destroy
    other_invocations: int = 5  # the extension check 3, the manual health check 2 (function and callee)
    lambda_billed_seconds: float = 1.0  # per invocation, generous for cold starts (256 MB functions)
    lambda_memory_gb: float = 0.25
    lambda_log_bytes: int = 2_000  # per invocation
    alarms: int = 15  # opened and stays-open per callee, the dead-letter queue's
    metrics: int = 35  # five per callee at most (a metric costs only in hours it receives data)
    dashboards: int = 1

    @property
    def health_checks(self) -> int:
        """One scheduled check a minute while the stack lives: the health-check function and the callee it invokes."""
        return self.stack_minutes

    @property
    def invocations(self) -> int:
        return self.workflow_invocations + self.other_invocations + 2 * self.health_checks

    @property
    def express_units(self) -> int:
        """100-ms units of 64 MB: the cost model's latencies summed, and each execution rounded up once."""
        milliseconds = (self.workflow_reads + self.workflow_writes + self.workflow_events) * DYNAMODB_MS
        milliseconds += self.workflow_invocations * LAMBDA_INVOKE_MS + self.backoff_seconds * 1000
        return math.ceil(milliseconds / 100) + self.executions


def cost_lines(work: SuiteWork = SuiteWork()) -> list[tuple[str, str, float]]:
    """(item, arithmetic, USD) for one run."""
    hours = math.ceil(work.stack_minutes / 60)
    reads = work.workflow_reads + work.other_reads + work.health_checks
    writes = work.workflow_writes + work.other_writes + work.health_checks
    events = work.workflow_events + work.other_events
    log_gb = (work.execution_log_bytes + work.invocations * work.lambda_log_bytes) / 1e9
    gb_seconds = work.invocations * work.lambda_billed_seconds * work.lambda_memory_gb
    return [
        ("Step Functions Express", f"{work.executions} requests × ${EXPRESS_REQUEST.usd * 1e6:g}/M + {work.express_units} × 0.1 s × {EXPRESS_MEMORY_GB} GB × ${EXPRESS_GB_SECOND.usd}",
         work.executions * EXPRESS_REQUEST.usd + work.express_units * 0.1 * EXPRESS_MEMORY_GB * EXPRESS_GB_SECOND.usd),
        ("Lambda", f"{work.invocations} invocations × ${LAMBDA_REQUEST.usd * 1e6:g}/M + {gb_seconds:g} GB-s × ${LAMBDA_GB_SECOND.usd}",
         work.invocations * LAMBDA_REQUEST.usd + gb_seconds * LAMBDA_GB_SECOND.usd),
        ("DynamoDB", f"{reads} reads × ${DYNAMODB_READ.usd * 1e6:g}/M + {writes} writes × ${DYNAMODB_WRITE.usd * 1e6:g}/M",
         reads * DYNAMODB_READ.usd + writes * DYNAMODB_WRITE.usd),
        ("EventBridge", f"{events} events × ${EVENTBRIDGE_EVENT.usd * 1e6:g}/M", events * EVENTBRIDGE_EVENT.usd),
        ("CloudWatch Logs", f"{log_gb * 1000:.2f} MB × ${LOGS_GB.usd}/GB", log_gb * LOGS_GB.usd),
        ("CloudWatch metrics", f"{work.metrics} metrics × ${CUSTOM_METRIC_MONTH.usd}/month × {hours} h / {HOURS_PER_MONTH} h",
         work.metrics * CUSTOM_METRIC_MONTH.usd * hours / HOURS_PER_MONTH),
        ("CloudWatch alarms", f"{work.alarms} alarms × ${ALARM_MONTH.usd}/month × {hours} h / {HOURS_PER_MONTH} h",
         work.alarms * ALARM_MONTH.usd * hours / HOURS_PER_MONTH),
        ("CloudWatch dashboard", f"{work.dashboards} × ${DASHBOARD_MONTH.usd:.2f}/month × {hours} h / {HOURS_PER_MONTH} h",
         work.dashboards * DASHBOARD_MONTH.usd * hours / HOURS_PER_MONTH),
    ]  # fmt: skip


def total(work: SuiteWork = SuiteWork()) -> float:
    return sum(usd for _, _, usd in cost_lines(work))


def cost_table(work: SuiteWork = SuiteWork()) -> str:
    """The README's table: each item, its arithmetic and its cost, and the total."""
    rows = ["| item | arithmetic | USD |", "|---|---|---|"]
    rows += [f"| {item} | {arithmetic} | {usd:.5f} |" for item, arithmetic, usd in cost_lines(work)]
    rows.append(f"| **one run** | | **{total(work):.3f}** |")
    return "\n".join(rows)
