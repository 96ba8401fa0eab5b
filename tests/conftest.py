"""Shared fixtures: one real Elasticsearch node per test session, temp settings, fixture web.

The node is started by this session (dfwatch.devnode) unless DFWATCH_TEST_ES_URL names a
node someone already runs. If it cannot start, every test that needs it errors: nothing
that touches the index is ever skipped or mocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest_plugins = ["ui_support"]  # the web UI's server and browser fixtures

if TYPE_CHECKING:
    from dfwatch.fixtureweb import FixtureWeb
    from dfwatch.store.elastic import ElasticsearchStore


ROOT = Path(__file__).resolve().parents[1]
_node_info: dict[str, object] = {}


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    external = os.environ.get("DFWATCH_TEST_ES_URL")
    if external:
        _node_info.update(url=external, startup_seconds=0.0, version="external")
        yield external
        return
    from dfwatch import devnode

    node = devnode.start()
    _node_info.update(url=node.url, startup_seconds=node.startup_seconds, version=node.version)
    try:
        yield node.url
    finally:
        node.stop()


@pytest.fixture
def es_prefix(request: pytest.FixtureRequest, es_url: str) -> Iterator[str]:
    """A fresh index prefix per test; its indices are deleted afterwards."""
    from elasticsearch import Elasticsearch

    prefix = "t" + str(abs(hash(request.node.nodeid)) % 10**10) + str(time.monotonic_ns() % 10**6)
    yield prefix
    es = Elasticsearch(es_url)
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:  # wildcard deletes are refused (action.destructive_requires_name)
        es.indices.delete(index=",".join(names))
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])
    es.close()


@pytest.fixture
def store(es_url: str, es_prefix: str) -> Iterator[ElasticsearchStore]:
    """An Elasticsearch store under the test's own prefix, set up (its indices go with the prefix)."""
    from dfwatch.settings import StoreSettings
    from dfwatch.store.elastic import ElasticsearchStore  # noqa: F811 - at run time, not only for types

    s = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=es_url, index_prefix=es_prefix))
    s.setup()
    yield s
    s.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for dfwatch under test: its own data dir, no user config, no ES."""
    for var in list(os.environ):
        if var.startswith("DFWATCH_") and var != "DFWATCH_TEST_ES_URL":
            monkeypatch.delenv(var)
    monkeypatch.setenv("DFWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return {k: v for k, v in os.environ.items()}


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    from dfwatch.fixtureweb import FixtureWeb

    with FixtureWeb() as fixture_web:
        yield fixture_web


def run_dfwatch(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (Scrapy's reactor runs once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "dfwatch", *args], env=env, capture_output=True, text=True,
        timeout=timeout, cwd=env.get("PWD", str(ROOT)),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "es_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.elasticsearch)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    passed = [r for r in terminalreporter.stats.get("passed", []) if "elasticsearch" in r.keywords]
    failed = [r for r in terminalreporter.stats.get("failed", []) if "elasticsearch" in r.keywords]
    if _node_info:
        terminalreporter.write_line(
            f"elasticsearch {_node_info['version']} at {_node_info['url']}: started in "
            f"{float(_node_info['startup_seconds']):.1f}s; {len(passed)} tests passed and "
            f"{len(failed)} failed against the real node"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI must run every test: a skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        reporter.write_line("FAILED: tests were skipped; every test must run", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def fixture_corpus(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    """The fixture web crawled once per session into SQLite and into Elasticsearch.

    Returns {"sqlite": env, "elasticsearch": env}: environments for `run_dfwatch` that read
    each store (own data dir, no user config). Read-only: tests must not write to them.
    """
    import yaml
    from elasticsearch import Elasticsearch

    from dfwatch.fixtureweb import FixtureWeb

    root = tmp_path_factory.mktemp("fixture_corpus")
    base = {k: v for k, v in os.environ.items() if not k.startswith("DFWATCH_")}
    base.update(PWD=str(ROOT), DFWATCH_CRAWL__ALLOW_LOOPBACK="true", DFWATCH_CRAWL__DOWNLOAD_DELAY="0")
    prefix = f"corpus{os.getpid()}{time.monotonic_ns() % 10**6}"
    envs = {"sqlite": {**base, "DFWATCH_DATA_DIR": str(root / "sqlite")},
            "elasticsearch": {**base, "DFWATCH_DATA_DIR": str(root / "elasticsearch"),
                              "DFWATCH_STORE__ELASTICSEARCH_URL": es_url, "DFWATCH_STORE__INDEX_PREFIX": prefix}}
    try:
        with FixtureWeb() as web:
            sources = root / "sources.yaml"
            sources.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
            args = [a for s in web.sources() for a in ("--source", s["id"])]
            procs = {}
            for name, env in envs.items():  # both crawls at once: the fixture web serves them in parallel
                env["DFWATCH_SOURCES_FILE"] = str(sources)
                procs[name] = subprocess.Popen([sys.executable, "-m", "dfwatch", "crawl", *args], env=env, cwd=ROOT,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, proc in procs.items():
                out, err = proc.communicate(timeout=600)
                assert proc.returncode == 0, f"{name} crawl failed:\n{out}\n{err[-3000:]}"
        yield envs
    finally:
        es = Elasticsearch(es_url)
        names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names))
        for template in es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*").get(
                "index_templates", []):
            es.indices.delete_index_template(name=template["name"])
        es.close()
