"""Cost per million calls on AWS, healthy and during an outage: this breaker against the reference sample.

Reads what the other benchmarks measured (``docs/path-costs.json``, ``docs/outage.json``; ``make bench``
runs them first) and prices it with ``cost_model``: list prices, each with its source, and the
arithmetic shown line by line.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.cost_model import (
    CALLEE_BILLED_MS,
    CALLEE_MEMORY_GB,
    DYNAMODB_MS,
    EXPRESS_MEMORY_GB,
    LAMBDA_INVOKE_MS,
    PRICES,
    STATUS_LAMBDA_BILLED_MS,
    Cost,
    Work,
    express_duration_units,
    reference_sample,
    this_breaker,
)
from benchmarks.report import DOCUMENT, write_section

HEALTHY, FAST_FAIL = "healthy (no item)", "fast fail (open)"
FAILURE, RETRY_STOPPED = "callee failure, 4 attempts", "retry stopped: opened during backoff"


def _load(name: str) -> dict:
    path = DOCUMENT.parent / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run the whole benchmark suite (make bench), which measures it first")
    return json.loads(path.read_text())


def _outage_work(paths: dict, mix: dict, short: str, failure: str, healthy: str, stopped: str | None = None) -> Work:
    """The average call during the outage: the measured outcome mix, and measured callee invocations per call.

    Short-circuited calls take the fast-fail path, failed calls the failure path with all its attempts,
    successes the healthy path and (this breaker) calls whose retry the opened circuit stopped that path.
    """
    weighted = [
        (mix["short_circuited"], Work.from_figures(paths[short])),
        (mix["failure"], Work.from_figures(paths[failure])),
        (mix["success"], Work.from_figures(paths[healthy])),
    ]
    if stopped is not None:
        weighted.append((mix.get("retry_stopped", 0.0), Work.from_figures(paths[stopped])))
    work = Work.average([(weight, work) for weight, work in weighted if weight > 0])
    return Work(**{**work.__dict__, "callee_invocations": mix["callee_invocations_per_call"]})


def _levels(paths: dict) -> list[str]:
    """What a healthy call and a failed call (4 attempts) cost at each log level: only the logs line changes."""
    levels = ("ALL", "ERROR", "FATAL", "OFF")
    lines = ["| per 1M calls | " + " | ".join(f"log level {level}" for level in levels) + " |", "|---|" + "---|" * len(levels)]
    for name in (HEALTHY, FAILURE):
        figures = paths[name]
        costs = [this_breaker(Work.from_figures({**figures, "log_bytes": figures["log_bytes_by_level"][level]})) for level in levels]
        lines.append(f"| {name}: logs | " + " | ".join(f"${c.lines['CloudWatch Logs']:,.2f}" for c in costs) + " |")
        lines.append(f"| {name}: **total** | " + " | ".join(f"**${c.total:,.2f}**" for c in costs) + " |")
    return lines


def _table(costs: dict[str, Cost]) -> list[str]:
    items = list(next(iter(costs.values())).lines)
    lines = ["| per 1M calls | " + " | ".join(costs) + " |", "|---|" + "---|" * len(costs)]
    for item in items:
        lines.append(f"| {item} | " + " | ".join(f"${c.lines[item]:,.2f}" for c in costs.values()) + " |")
    lines.append("| **total** | " + " | ".join(f"**${c.total:,.2f}**" for c in costs.values()) + " |")
    return lines


@pytest.mark.benchmark
def test_outage_cost() -> None:
    paths, outage = _load("path-costs.json"), _load("outage.json")
    ours, reference = paths["this breaker"], paths["reference sample"]
    healthy = {"this breaker": this_breaker(Work.from_figures(ours[HEALTHY])), "reference sample": reference_sample(Work.from_figures(reference["healthy"]))}
    ours_outage = _outage_work(ours, outage["this breaker"], FAST_FAIL, FAILURE, HEALTHY, RETRY_STOPPED)
    reference_outage = _outage_work(reference, outage["reference sample"], "fast fail (open)", "callee failure", "healthy")
    during = {"this breaker": this_breaker(ours_outage), "reference sample": reference_sample(reference_outage)}
    for name in healthy:
        print(f"{name}: healthy ${healthy[name].total:.2f}, outage ${during[name].total:.2f} per 1M calls")

    h = Work.from_figures(ours[HEALTHY])
    failed = Work.from_figures(ours[FAILURE])
    units = express_duration_units(h)
    records = ours[HEALTHY]["log_records"]
    logs = healthy["this breaker"].lines["CloudWatch Logs"]
    ratio = healthy["reference sample"].total / healthy["this breaker"].total
    prices = "\n".join(f"| {p.unit} | ${p.usd:.10g} | <{p.source}> |" for p in PRICES)
    write_section(
        "cost-model",
        f"""## Cost model (AWS list prices, us-east-1)

`make bench` (this section: `pytest -m benchmark -o addopts="" benchmarks/test_outage_cost.py -s`, after the
benchmarks above). The work each call does comes from them: this breaker's paths and the reference sample's
(rebuilt as `benchmarks/reference_sample.asl.json`, measured the same way), and, during an outage, the mix of
outcomes and callee invocations per call that the outage simulation measured. The reference sample is priced as
AWS published it: a **Standard** workflow (billed per state transition, retries included) with two status
Lambdas, `GetCircuitStatus` on every call and `UpdateCircuitStatus` on every failed call.

| price | USD | source |
|---|---|---|
{prices}

Assumptions the local engine cannot measure: a DynamoDB call takes {DYNAMODB_MS:.0f} ms, a warm Lambda invoke
{LAMBDA_INVOKE_MS:.0f} ms; callees run {CALLEE_BILLED_MS:.0f} ms at {CALLEE_MEMORY_GB * 1024:.0f} MB, the status
Lambdas {STATUS_LAMBDA_BILLED_MS:.0f} ms; an Express execution of this workflow fits one {EXPRESS_MEMORY_GB * 1024:.0f}-MB
chunk. Waits are the measured means of the path costs (this breaker's failed call with 4 attempts waits
{failed.backoff_seconds:.2f} s in `Back off`: whole seconds, full jitter on 1 + 2 + 4 s); Express bills them as duration.

Arithmetic, this breaker's healthy call: 1 Express request (${1.0:.2f} per 1M) + {units} × 100 ms × 0.0625 GB ×
$0.00001667 per GB-s + {h.reads:g} read × $0.125 per 1M + 1 callee invocation ($0.20 per 1M + 0.125 GB × 0.05 s ×
$0.0000166667) + {h.log_bytes / 1024:.1f} KB of logs × $0.50 per GB, all × 1,000,000.

### Healthy calls

{chr(10).join(_table(healthy))}

### Calls during an outage

The outage's calls as measured: short-circuited calls take the fast-fail path, calls whose retry the opening
circuit stopped the *retry stopped* path, failed calls the 4-attempt failure path, and callee invocations per call
are counted, not assumed.

{chr(10).join(_table(during))}

### Log levels

The same calls with `log_level` `ALL` (the default), `ERROR`, `FATAL` or `OFF`, from the log bytes each level wrote
in the path costs (what each level keeps and loses: the README's *Log levels*):

{chr(10).join(_levels(ours))}

Logging at level ALL is the largest line on a healthy call ({h.log_bytes / 1024:.1f} KB per execution, ${logs:.2f} per 1M
calls): it is what makes Express executions inspectable, and what the metric filters count. Most of it is
per-record overhead ({records} records on the healthy path, each repeating the execution ARN and the execution data),
not the payload: fewer states on the healthy path or `log_execution_data: false` would shrink it; level ERROR would
remove it, and with it the metrics and the record of successful calls. A failed call with 4 attempts writes
{failed.log_bytes / 1024:.0f} KB. Even so this breaker costs about 1/{ratio:.0f} of the reference sample on healthy calls,
whose Standard workflow bills every state transition and retry. During an outage most calls fail fast (one read, no
callee), while the reference sample keeps paying transitions, retries and a status Lambda on every call, and its
callers rush the failing callee whenever its 20-s record expires.
""",
    )
