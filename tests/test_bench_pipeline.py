"""The pipeline benchmark (benchmarks/pipeline.py) runs end to end in its smoke-test size and reports
every stage, the bound and its checks. Speed targets are the benchmark's to judge, not this test's:
here a stage that measured nothing, or a crawl that lost articles, fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {"end_to_end_articles_per_s", "end_to_end_ratio_to_stage_bound", "nlp_stage_ratio_to_bare_nlp_pipe",
          "crawl_and_enrich_peak_rss_mb", "growth_cost_per_article_large_over_small"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "DFWATCH_BENCH_OUT": str(out)}
    env.pop("DFWATCH_STORE__ELASTICSEARCH_URL", None)
    run = subprocess.run([sys.executable, "-m", "benchmarks.pipeline", "--quick"], cwd=ROOT, env=env,
                         timeout=600, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((out / "pipeline.json").read_text(encoding="utf-8"))


def test_every_stage_reports_a_positive_rate(report: dict[str, Any]) -> None:
    st = report["results"]["stages"]
    rates = {
        "fetch": (st["fetch"]["raw_get_pages_per_s"], st["fetch"]["scrapy_articles_per_s"]),
        "extract": (st["extract"]["bare_trafilatura_pages_per_s"], st["extract"]["dfwatch_pages_per_s"]),
        "relevance": (st["relevance"]["articles_per_s"],),
        "nlp": (st["nlp"]["en_bare_nlp_pipe_per_s"], st["nlp"]["en_dfwatch_per_s"], st["nlp"]["ko_bare_kiwi_per_s"],
                st["nlp"]["ko_dfwatch_per_s"], st["nlp"]["mixed_in_workers_per_s"]),
        "stories": (st["stories"]["articles_per_s"],),
        "index": (st["index"]["sqlite_docs_per_s"],),
    }
    assert {k: all(r > 0 for r in v) for k, v in rates.items()} == dict.fromkeys(rates, True)
    for stage in ("fetch", "extract"):
        assert st[stage]["ratio"] > 0
    assert st["nlp"]["en_ratio"] > 0 and st["nlp"]["ko_ratio"] > 0
    assert 0.15 < st["relevance"]["kept_share"] < 0.7  # ~30 % of the corpus is on topic


def test_bound_sums_the_stages(report: dict[str, Any]) -> None:
    bound = report["results"]["bound"]
    costs = bound["ms_per_article"]
    assert set(costs) == {"fetch", "extract", "relevance", "nlp", "stems", "stories", "index"}
    assert all(v > 0 for v in costs.values())
    assert bound["sum_ms"] == pytest.approx(sum(costs.values()), abs=0.05)
    assert 0 < bound["articles_per_s"] <= 2000 / bound["sum_ms"] + 1e-6  # never above what two cores allow


def test_end_to_end_crawls_every_article_at_each_size(report: dict[str, Any]) -> None:
    results = report["results"]
    for size in results["sizes"]:
        run = results["end_to_end"][str(size)]
        assert run["articles"] == size
        assert run["errors"] == 0
        assert run["indexed"] == run["nlp_articles"] > 0
        assert run["indexed"] + sum(run["dropped"].values()) == size
        assert run["articles_per_s"] > 0 and run["crawl_process_peak_rss_mb"] > 0
        assert run["nlp_worker_peak_rss_mb"] > 0 and run["nlp_worker_cpu_s"] > 0  # NLP ran in its worker process
        assert run["cpu_ms_per_article"] > 0
    assert results["growth_cost_per_article_large_over_small"] > 0
    assert results["growth_cpu_per_article_large_over_small"] > 0
    assert results["end_to_end_ratio_to_bound"] > 0


def test_checks_cover_the_targets(report: dict[str, Any]) -> None:
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == CHECKS
    assert all(isinstance(c["ok"], bool) and c["target"] for c in checks.values())
    assert report["machine"]["loadavg_1m"] >= 0
