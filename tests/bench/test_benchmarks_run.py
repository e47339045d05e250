"""The benchmarks that run in seconds at small sizes still run, and record their headline
rows: `make bench` is not part of `make test`, so a benchmark broken by a change in the
code it measures would otherwise be found only at the next measurement.

Figures are not checked (the suite never asserts timings); each script runs on its own
throwaway SQLite files, so this runs once, in the SQLite pass. The benchmarks that start
gunicorn or seed 100,000 rows are left to `make bench`.
"""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.paths import ROOT

SMALL = {
    "BENCH_N": "5",
    "BENCH_ROUNDS": "1",
    "BENCH_PER_ROUND": "5",
    "BENCH_LEGACY_ORDERS": "20",
    "BENCH_SYNC_ORDERS": "50",
    "BENCH_FILLS_LATE_ORDERS": "10",
    "BENCH_OUTBOX_HOUR_EVENTS": "200",
    "BENCH_OUTBOX_MESSAGES": "200",
    "BENCH_REQUESTS": "10",
    "BENCH_LEDGER_FILLS": "4",
}
QUICK = [
    "bench_api",
    "bench_api_write",
    "bench_auth",
    "bench_ledger",
    "bench_legacy",
    "bench_outbox",
    "bench_sync",
    "bench_sync_fills",
]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="runs once, in the SQLite pass")
@pytest.mark.parametrize("name", QUICK)
def test_benchmark_runs_and_records_its_figures(name, tmp_path):
    results = tmp_path / "results.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith("BENCH_")}
    env.update(SMALL, BENCH_RESULTS=str(results), SECRET_KEY="bench-only-secret", DEBUG="false")
    env.pop("DATABASE_URL", None)

    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "bench" / f"{name}.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert rows and all(isinstance(row["value"], int | float) for row in rows)
