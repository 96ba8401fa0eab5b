"""`dfwatch bench` (benchmarks/run_all.py): one child per module, one report, honest exit codes.

The runner is pointed at tiny fake modules (DFWATCH_BENCH_MODULES_DIR) that write their result
through benchmarks/common.py like the real ones, crash, or write nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKES = {
    # holds ~80 MB so the child's peak RSS is visibly its own; one met and one missed target
    "good": """
        import os, sys
        from benchmarks.common import at_least, write_result
        block = bytearray(80 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        print("good module ran")
        write_result("good", {"quick": "--quick" in sys.argv, "es": os.environ.get("DFWATCH_BENCH_ES_URL")},
                     [at_least("rate | pipe", 5, 1, "docs/s"), at_least("missed target", 1, 5)])
    """,
    "crash": """
        import sys
        print("boom: the module broke")
        sys.exit(3)
    """,
    "silent": """
        print("forgot to write a result")
    """,
    # a known module name that needs Elasticsearch: reports the node URL it was given
    "digest_build": """
        import os
        from benchmarks.common import at_most, write_result
        write_result("digest_build", {"es": os.environ.get("DFWATCH_BENCH_ES_URL")}, [at_most("build s", 1, 2)])
    """,
}


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    mods = tmp_path / "mods"
    mods.mkdir()
    for name, code in FAKES.items():
        (mods / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return mods


def bench(fakes: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFWATCH_BENCH_")}
    env["DFWATCH_BENCH_MODULES_DIR"] = str(fakes)
    return subprocess.run([sys.executable, "-m", "dfwatch", "bench", "--out", str(out), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_run_that_misses_a_target_succeeds_and_reports_every_check(fakes: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = bench(fakes, out, "--only", "good", "--quick")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good module ran" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    (mod,) = report["modules"]
    assert mod["name"] == "good" and mod["status"] == "ok" and mod["exit_code"] == 0
    assert mod["peak_rss_mb"] >= 80 and mod["wall_s"] > 0
    assert len(mod["load_before"]) == 3 and len(mod["load_after"]) == 3
    assert mod["result"]["results"] == {"quick": True, "es": None}  # --quick passed on; no node for it
    assert [(c["module"], c["name"], c["ok"]) for c in report["checks"]] == [
        ("good", "rate | pipe", True), ("good", "missed target", False)]
    assert report["summary"] == {"modules": 1, "ran_ok": 1, "checks": 2, "checks_ok": 1}
    assert report["machine"]["cpus"] == os.cpu_count()
    md = (out / "report.md").read_text()
    assert "| good | rate \\| pipe | 5 | >= 1 docs/s | ok |" in md
    assert "| good | missed target | 1 | >= 5 | MISS |" in md
    assert (out / "logs" / "good.log").read_text().strip().endswith("good.json")


def test_modules_that_cannot_run_fail_the_run_but_not_the_report(fakes: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    stale = out / "silent.json"  # from an earlier run: must not pass for this one's result
    stale.write_text(json.dumps({"benchmark": "silent", "checks": []}))
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    proc = bench(fakes, out, "--only", "crash,good,absent,silent")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    status = {m["name"]: (m["status"], m["exit_code"]) for m in report["modules"]}
    assert status == {"crash": ("failed", 3), "good": ("ok", 0), "absent": ("missing", None),
                      "silent": ("failed", 0)}
    assert [m["name"] for m in report["modules"]] == ["crash", "good", "absent", "silent"]
    errors = {m["name"]: m["error"] for m in report["modules"]}
    assert "exit code 3" in errors["crash"] and "boom: the module broke" in errors["crash"]
    assert "wrote no silent.json" in errors["silent"]
    assert "no benchmark module" in errors["absent"]
    assert [c["name"] for c in report["checks"]] == ["rate | pipe", "missed target"]
    md = (out / "report.md").read_text()
    assert "| crash | failed | 3 |" in md and "| absent | missing | – |" in md
    assert "### crash: failed (output: logs/crash.log)" in md


def test_the_node_url_goes_to_the_modules_that_need_elasticsearch_only(fakes: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    url = "http://127.0.0.1:9"  # given, so no devnode is started; the fakes only record it
    proc = bench(fakes, out, "--only", "digest_build,good", "--es-url", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    # modules without Elasticsearch run first, whatever order --only names them in
    assert [m["name"] for m in report["modules"]] == ["good", "digest_build"]
    got = {m["name"]: m["result"]["results"]["es"] for m in report["modules"]}
    assert got == {"good": None, "digest_build": url}
    assert report["elasticsearch"] == {"node": "external", "url": url}


@pytest.mark.slow
def test_peer_without_news_please_says_why_and_falls_back_to_bare_rates(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFWATCH_")}
    env |= {"DFWATCH_PEER_VENV": str(tmp_path / "no-venv"), "DFWATCH_BENCH_OUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.peer", "--no-install", "--docs", "12", "--rounds", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "peer.json").read_text())
    res = doc["results"]
    assert "not installed" in res["peer"]["reason"] and not (tmp_path / "no-venv").exists()
    assert set(res["engines"]) == {"trafilatura", "dfwatch"}
    for engine in res["engines"].values():
        assert engine["all"]["pages"] == 12 and engine["all"]["articles_per_s"] > 0
        assert engine["all"]["text_f1"] >= 0.9 and engine["all"]["pages_failed"] == 0
    assert res["ratios"]["dfwatch_vs_trafilatura"]["all"]["cpu"] > 0
    assert res["fallback"]["spacy"]["articles_per_s"] > 0
    assert [(c["name"], c["ok"]) for c in doc["checks"]] == [("peer: news-please measured (see results.peer.reason)",
                                                                False)]


def test_peer_text_score_ignores_a_repeated_title_and_rewards_only_the_article_words() -> None:
    from benchmarks.peer import f1, quality

    doc = {"title": "Police act", "text": "one two three four"}
    assert f1("one two three four", doc["text"]) == 1.0 and f1("menu login", doc["text"]) == 0.0
    assert 0.5 < f1("one two three four menu login", doc["text"]) < 1.0
    got = quality([("Police act", "Police act\none two three four"), (None, "")], [doc, doc])
    assert got == {"text_f1": 0.5, "with_text": 0.0, "title_exact": 0.5}


def test_no_node_is_started_for_a_missing_module_and_a_node_that_fails_skips_its_modules(
        fakes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results"
    # bulk_index needs Elasticsearch but has no file: nothing to start a node for
    proc = bench(fakes, out, "--only", "bulk_index,good")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert [(m["name"], m["status"]) for m in report["modules"]] == [("good", "ok"), ("bulk_index", "missing")]
    assert report["elasticsearch"] == {}
    # a node that cannot start (no Java there): its modules are skipped with the reason, the others run
    monkeypatch.setenv("ES_JAVA_HOME", str(tmp_path / "no-java"))
    proc = bench(fakes, out, "--only", "digest_build,good")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    runs = {m["name"]: m for m in report["modules"]}
    assert runs["good"]["status"] == "ok" and runs["digest_build"]["status"] == "skipped"
    assert "Elasticsearch unavailable" in runs["digest_build"]["error"]
    assert "no executable bin/java" in runs["digest_build"]["error"]
