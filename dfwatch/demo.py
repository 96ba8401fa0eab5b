"""`dfwatch demo`: the whole journey on the bundled fixture web, on any fresh machine."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from dfwatch.crawling import run_crawls
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.settings import Settings
from dfwatch.store import Query, open_store
from dfwatch.terminal import safe_line

Echo = Callable[[str], object]


def demo_settings(settings: Settings, sources_file: Path) -> Settings:
    """The user's store backend, in a namespace of its own that each demo run resets."""
    demo_dir = settings.data_path / "demo"
    store = settings.store.model_copy(update={
        "sqlite_path": demo_dir / "dfwatch.sqlite3",
        "index_prefix": f"{settings.store.index_prefix}-demo",
    })
    # our own server on 127.0.0.1: no need to wait between requests, and loopback must be reachable
    crawl = settings.crawl.model_copy(update={"download_delay": 0.05, "allow_loopback": True})
    return settings.model_copy(update={"data_dir": demo_dir, "store": store, "crawl": crawl,
                                       "sources_file": sources_file})


def reset(settings: Settings) -> None:
    if settings.store.backend == "elasticsearch":
        from dfwatch.store.elastic import ElasticsearchStore

        es = ElasticsearchStore.from_settings(settings.store)
        names = list(es.es.indices.get(index=f"{es.alias}-v*"))
        if names:  # wildcard deletes are refused (action.destructive_requires_name)
            es.es.indices.delete(index=",".join(names))
        es.close()
    shutil.rmtree(settings.data_path, ignore_errors=True)


def run_demo(settings: Settings, query: str = "telegram", echo: Echo = print) -> None:
    started = time.monotonic()
    demo_dir = settings.data_path / "demo"
    with FixtureWeb() as web:
        sources_file = demo_dir / "sources.yaml"
        dsettings = demo_settings(settings, sources_file)
        reset(dsettings)
        demo_dir.mkdir(parents=True, exist_ok=True)
        sources_file.write_text(yaml.safe_dump({"sources": web.sources()}, allow_unicode=True))
        echo(f"fixture web on {', '.join(web.base_urls.values())}")
        reports = run_crawls(dsettings, {s["id"]: s["strategy"] for s in web.sources()})
    for r in reports:
        d = r.as_dict()
        reasons = ", ".join(f"{k}={v}" for k, v in {**d["skipped"], **d["dropped"]}.items())
        echo(f"crawled {d['source']}: {d['pages_fetched']} pages, indexed {d['indexed']}"
             + (f" (skipped/dropped: {reasons})" if reasons else ""))
    store = open_store(dsettings)
    try:
        result = store.search(Query(query), size=5)
        echo(f"\ntop hits for {query!r} ({result.total} articles, {dsettings.store.backend} store):")
        for hit in result.hits:
            echo(f"  {(hit.published_at or '')[:10]}  {safe_line(hit.title)}  [{safe_line(hit.source_name)}]")
        echo(f"\narticles per month for {query!r}:")
        for month, n in store.monthly_counts(Query(query)):
            echo(f"  {month}  {'#' * n} {n}")
        echo("\nfigure ledger, police_cases_reported (value, period, source):")
        for fig in store.figures(measure="police_cases_reported", size=8):
            period = fig.get("period") or {}
            echo(f"  {fig['value']:>6,}  {period.get('start', '?')}..{period.get('end', '?')}  "
                 f"[{safe_line(fig['source']['name'])}] \"{safe_line(fig['sentence'])[:90]}\"")
    finally:
        store.close()
    echo(f"\ndone in {time.monotonic() - started:.1f}s; store: "
         f"{dsettings.store.elasticsearch_url or dsettings.sqlite_file}")
