"""`make bench`: run every tests/bench/bench_*.py in its own process, then one summary table.

Each benchmark prints its own detail and records its headline rows (tests/bench/
results.py) in a file shared through BENCH_RESULTS; the table at the end shows
each figure beside the baseline measured in the same run, its target and
whether it was met. Exits non-zero when a benchmark crashed (a missed target
is a figure to read, not a failure).

    python tests/bench/run.py [bench_sync bench_api_load ...]   # default: all
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.results import met  # noqa: E402


def scripts(names):
    found = sorted((ROOT / "tests" / "bench").glob("bench_*.py"))
    if names:
        found = [path for path in found if path.stem in names]
    return found


def main(names):
    crashed = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench_results_") as directory:
        results = Path(directory) / "results.jsonl"
        results.touch()
        env = {**os.environ, "BENCH_RESULTS": str(results)}
        for script in scripts(names):
            print(f"\n##### {script.name}", flush=True)
            begun = time.monotonic()
            done = subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT, check=False)
            print(f"##### {script.name}: {time.monotonic() - begun:.0f} s", flush=True)
            if done.returncode != 0:
                crashed.append(f"{script.name} (exit {done.returncode})")
        rows = [json.loads(line) for line in results.read_text().splitlines() if line]
    print_table(rows, time.monotonic() - started)
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
        sys.exit(1)


def print_table(rows, seconds):
    print(
        f"\n== Summary ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"{seconds / 60:.1f} min)"
    )
    header = f"{'figure':<56} {'value':>14} {'baseline (same run)':<32} {'target':<9} met?"
    print(header)
    print("-" * len(header))
    for row in rows:
        value = f"{_number(row['value'])} {row['unit']}".strip()
        baseline = row["baseline"]
        if isinstance(baseline, int | float):
            baseline = f"{_number(baseline)} {row['unit']}".strip()
        verdict = {True: "yes", False: "NO", None: ""}[met(row["value"], row["target"])]
        print(
            f"{row['name']:<56} {value:>14} {baseline or '':<32} {row['target'] or '':<9} {verdict}"
        )


def _number(value):
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


if __name__ == "__main__":
    main(sys.argv[1:])
