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


def _load(name: str) -> dict:
    path = DOCUMENT.parent / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run the whole benchmark suite (make bench), which measures it first")
    return json.loads(path.read_text())


def _work(figures: dict) -> Work:
    return Work(**figures)


def _outage_work(paths: dict, mix: dict, short: str, failure: str, healthy: str) -> Work:
    """The average call during the outage: the measured outcome mix, and measured callee invocations per call."""
    work = _work(paths[short])
    if mix["failure"]:
        work = work.mix(mix["failure"] / max(1e-9, mix["failure"] + mix["short_circuited"]), _work(paths[failure]))
    if mix["success"]:
        work = work.mix(mix["success"], _work(paths[healthy]))
    return Work(**{**work.__dict__, "callee_invocations": mix["callee_invocations_per_call"]})


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
    healthy = {"this breaker": this_breaker(_work(ours["healthy (no item)"])), "reference sample": reference_sample(_work(reference["healthy"]))}
    ours_outage = _outage_work(ours, outage["this breaker"], "fast fail (open)", "callee failure (first in window)", "healthy (no item)")
    reference_outage = _outage_work(reference, outage["reference sample"], "fast fail (open)", "callee failure", "healthy")
    during = {"this breaker": this_breaker(ours_outage), "reference sample": reference_sample(reference_outage)}
    for name in healthy:
        print(f"{name}: healthy ${healthy[name].total:.2f}, outage ${during[name].total:.2f} per 1M calls")

    h = _work(ours["healthy (no item)"])
    units = express_duration_units(h)
    prices = "\n".join(f"| {p.unit} | ${p.usd:.10g} | <{p.source}> |" for p in PRICES)
    write_section(
        "cost-model",
        f"""## Cost model (AWS list prices, us-east-1)

`make bench` (this section: `pytest -m benchmark -o addopts="" benchmarks/test_outage_cost.py -s`, after the
two benchmarks above). The work each call does comes from them: this breaker's paths and the reference sample's
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
chunk; a failed call waits 3.5 s of backoff on average (full jitter on 1 + 2 + 4 s).

Arithmetic, this breaker's healthy call: 1 Express request (${1.0:.2f} per 1M) + {units} × 100 ms × 0.0625 GB ×
$0.00001667 per GB-s + {h.reads:g} read × $0.125 per 1M + 1 callee invocation ($0.20 per 1M + 0.125 GB × 0.05 s ×
$0.0000166667) + {h.log_bytes / 1024:.1f} KB of logs × $0.50 per GB, all × 1,000,000.

### Healthy calls

{chr(10).join(_table(healthy))}

### Calls during an outage

{chr(10).join(_table(during))}

Logging at level ALL is the largest line on a healthy call ({h.log_bytes / 1024:.1f} KB per execution): it is what makes
Express executions inspectable, and what the metric filters count. Most of it is per-record overhead (16 records
on the healthy path, each repeating the execution ARN), not payload: a shorter state machine name or fewer states
on the healthy path would shrink it; level ERROR would remove it, and with it the metrics and the record of
successful calls. Even so this breaker costs about a fifteenth of the reference sample, whose Standard workflow
bills every state transition and retry. During an outage most calls fail fast (one read, no callee), while the
reference sample keeps paying transitions, retries and a status Lambda on every call, and its callers rush the
failing callee whenever its 20-s record expires.
""",
    )
