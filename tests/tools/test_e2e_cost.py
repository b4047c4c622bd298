"""What ``make e2e-aws`` costs: the README shows the cost model's own table, and the figure it quotes is that total."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from tools.e2e.cost import SuiteWork, cost_lines, cost_table, total

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_checklist_shows_the_cost_model_s_table_and_its_total_in_cents() -> None:
    readme = README.read_text()
    assert cost_table() in readme, "README's e2e cost table is stale: paste `python -m tools.e2e cost` into the checklist"
    quoted = re.search(r"about \*\*(\d+) cents\*\* a run", readme)
    assert quoted is not None and int(quoted.group(1)) == round(total() * 100)


def test_a_longer_lived_stack_costs_more_health_checks_and_more_hours_of_cloudwatch() -> None:
    short, long = SuiteWork(), replace(SuiteWork(), stack_minutes=90)
    assert long.invocations - short.invocations == 2 * (90 - short.stack_minutes)
    by_item = {item: usd for item, _, usd in cost_lines(long)}
    assert by_item["CloudWatch alarms"] == 2 * {item: usd for item, _, usd in cost_lines(short)}["CloudWatch alarms"]
    assert total(long) > total(short)
