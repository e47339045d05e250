"""Headline figures of a benchmark, for `tests/bench/run.py`'s combined table.

Each benchmark calls `record(...)` for the rows worth a line in the summary; the
rows go as JSON lines to the file named by BENCH_RESULTS (nothing is written
when it is unset, so each script still runs alone).
"""

import json
import operator
import os

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def record(name, value, unit, baseline=None, target=None):
    """Add one row: `baseline` is what the same run measured beside it (a figure or a
    short text), `target` a comparison such as ">= 250" or "< 200" (or None)."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    row = {"name": name, "value": value, "unit": unit, "baseline": baseline, "target": target}
    with open(path, "a", encoding="utf-8") as results:
        results.write(json.dumps(row) + "\n")


def met(value, target):
    """True/False when `target` is a comparison like ">= 250", "= 0" or "< 1"; else None."""
    if not target:
        return None
    text = target.strip()
    for symbol in (">=", "<=", ">", "<", "="):
        if text.startswith(symbol):
            limit = float(text[len(symbol) :].strip().rstrip("xs%").replace(",", ""))
            compare = COMPARISONS.get(symbol, operator.eq)
            return compare(float(value), limit)
    return None


def scratch_database_name(area):
    """Name of a benchmark's throwaway PostgreSQL database; BENCH_DATABASE_PREFIX keeps
    parallel runs on one server apart."""
    return f"{os.environ.get('BENCH_DATABASE_PREFIX', 'orderstate_bench')}_{area}"
