"""benchmarks/ui_pages.py --quick on the test node: it loads, serves the real app, and writes a well-formed result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch

from dfwatch.search.model import Filters, SearchRequest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))
from benchmarks.ui_pages import QUICK_REQUESTS, TARGET_P95_MS, page_params  # noqa: E402


def test_quick_run_writes_server_and_service_times_for_both_pages(es_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFWATCH_")}
    env.update(DFWATCH_BENCH_ES_URL=es_url, DFWATCH_BENCH_OUT=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ui_pages", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "ui_pages.json").read_text(encoding="utf-8"))
    assert doc["benchmark"] == "ui_pages" and doc["machine"]["cpus"]
    results = doc["results"]
    assert results["quick"] and results["stored"] == results["docs"] and results["target_p95_ms"] == TARGET_P95_MS
    for name in ("search", "timeline"):
        page = results["pages"][name]
        assert page["requests"] == QUICK_REQUESTS and page["non_200"] == 0
        server, service = page["server_ms"], page["service_ms"]
        assert 0 < server["p50"] <= server["p95"] <= server["max"]
        assert 0 < service["p50"] <= server["max"] and service["max"] <= server["max"]  # the service is inside
        assert 0 < page["service_share"] < 1 and abs(page["service_share"] + page["render_share"] - 1) < 0.002
        assert page["p50_ms_by_kind"]
        assert name in page["service_ms_by_method"]  # the page's own service call, timed by itself
        assert sum(page["share_by_method"].values()) <= page["service_share"] + 0.002
    names = {c["name"]: c for c in doc["checks"]}
    for name in ("search", "timeline"):
        check = names[f"{name} page p95 server time at {results['docs']} docs"]
        assert check["target"] == f"<= {TARGET_P95_MS:g} ms"
        assert check["ok"] == (check["value"] <= TARGET_P95_MS)
    es = Elasticsearch(es_url)
    try:  # its throwaway indices are gone
        assert results["index_prefix"].startswith("uibench")
        assert not es.indices.get(index=f"{results['index_prefix']}-*", expand_wildcards="all")
    finally:
        es.close()


def test_requests_are_asked_as_the_pages_forms_send_them() -> None:
    from datetime import date

    req = SearchRequest(q="telegram", sort="date", collapse=True, page=2,
                        filters=Filters(date_from=date(2024, 1, 1), lang=("ko", "en"), has_figures=True))
    assert page_params(req, "search") == [("q", "telegram"), ("from", "2024-01-01"), ("lang", "ko"), ("lang", "en"),
                                          ("has_figures", "true"), ("sort", "date"), ("page", "2")]
    assert page_params(req, "timeline") == [("q", "telegram"), ("from", "2024-01-01"), ("lang", "ko"),
                                            ("lang", "en"), ("has_figures", "true")]
