"""`dfwatch demo`: the whole journey on the bundled fixture web, on any fresh machine."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote_plus

import yaml

from dfwatch.crawling import run_crawls
from dfwatch.fixtureweb import FixtureWeb
from dfwatch.search import SearchRequest, SearchService
from dfwatch.settings import Settings
from dfwatch.terminal import safe_line

Echo = Callable[[str], object]
MEASURE, PLACE = "police_cases_reported", "South Korea"


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
        names = list(es.es.indices.get(index=f"{settings.store.index_prefix}-*"))
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
    with SearchService.open(dsettings) as service:
        show(service, query, dsettings.store.backend, echo)
    where = dsettings.store.elasticsearch_url or dsettings.sqlite_file
    echo(f"\ndone in {time.monotonic() - started:.1f}s; store: {where}")
    serve_env = (f"DFWATCH_STORE__INDEX_PREFIX={dsettings.store.index_prefix}"
                 if dsettings.store.backend == "elasticsearch" else f"DFWATCH_STORE__SQLITE_PATH={where}")
    echo(f"browse it in the web UI: {serve_env} dfwatch serve  "
         f"→ http://{settings.web.host}:{settings.web.port}/?q={quote_plus(query)} "
         "(JSON API under /api, OpenAPI docs at /docs)")


def show(service: SearchService, query: str, backend: str, echo: Echo) -> None:
    """Top stories, monthly counts and the police-case series for `query` on the demo store."""
    page = service.search(SearchRequest(query, size=5, collapse=True, facets=False, highlight=False))
    echo(f"\ntop hits for {query!r}, one per story ({page.total} articles, {backend} store):")
    for hit in page.hits:
        size = hit.story_size or 1
        more = f"  (+{size - 1} more in this story)" if size > 1 else ""
        echo(f"  {(hit.published_at or '')[:10]}  {safe_line(hit.title)}  [{safe_line(hit.source.name)}]{more}")

    timeline = service.timeline(SearchRequest(query, size=0, facets=False, highlight=False), "month",
                                top_stories=1, events=0, entities=0)
    echo(f"\narticles per month for {query!r}:")
    for bucket in timeline.buckets:
        echo(f"  {bucket.key[:7]}  {'#' * bucket.count} {bucket.count}")

    series = service.figure_series(MEASURE, PLACE)
    echo(f"\n{MEASURE} in {PLACE}, with every source:")
    for point in series.points:
        flag = "  ← CONFLICT: sources disagree" if point.conflict else ""
        echo(f"  {point.period_start}..{point.period_end}  {point.value:,.0f} {point.unit}{flag}")
        for version in point.versions:
            sources = ", ".join(dict.fromkeys(safe_line(r.source_name) for r in version.reports))
            echo(f"      {version.value:>8,.0f}  {len(version.reports)} report(s): {sources}")
