"""The benchmark summary's plumbing: rows recorded by each bench script, targets judged."""

import json

from tests.bench.results import met, record


def test_record_appends_one_json_line_per_row(tmp_path, monkeypatch):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("BENCH_RESULTS", str(results))
    record("writes", 251.5, "/s", "900 req/s /healthz", ">= 250")
    record("p99", 180.0, "ms", None, "< 200")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert rows == [
        {
            "name": "writes",
            "value": 251.5,
            "unit": "/s",
            "baseline": "900 req/s /healthz",
            "target": ">= 250",
        },
        {"name": "p99", "value": 180.0, "unit": "ms", "baseline": None, "target": "< 200"},
    ]


def test_record_without_results_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    record("writes", 1, "/s")
    assert list(tmp_path.iterdir()) == []


def test_met_reads_the_comparison_in_the_target():
    assert met(250, ">= 250") is True
    assert met(249.9, ">= 250") is False
    assert met(199, "< 200") is True
    assert met(200, "< 200") is False
    assert met(0, "= 0") is True
    assert met(1, "= 0") is False
    assert met(104, ">= 50x") is True
    assert met(12, None) is None
