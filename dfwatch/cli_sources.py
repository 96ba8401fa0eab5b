"""`dfwatch sources …`: check (offline, or one source live) and scaffold crawl sources.

dfwatch.cli imports this module to register the group, so its helpers are imported in the
commands (importing this module first must not re-enter a half-initialised dfwatch.cli).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from config import DIR as CONFIG_DIR
from dfwatch.settings import Settings
from dfwatch.sources import Coverage, Source, load_sources
from dfwatch.terminal import safe_line
from dfwatch.yamlconf import ConfigError

sources_app = typer.Typer(help="Check and add crawl sources.", no_args_is_help=True)
LIVE_MAX_PAGES = 5
LISTED = ("feed_entries", "sitemap_entries", "listing_rows", "api_articles")  # what the spiders count


@sources_app.command("check")
def sources_check(
    ctx: typer.Context,
    live: Annotated[str | None, typer.Option(
        "--live", metavar="ID", help="Crawl this one source once over the internet (temporary store).")] = None,
    coverage: Annotated[bool, typer.Option(
        help="Fail (exit 1) when the file is below the project's minimums (30 sources, 8 Korean, "
             "8 government/regulator, 1 discovery API); --no-coverage for a personal file.")] = True,
    max_pages: Annotated[int, typer.Option(min=1, max=50, help="Page cap for --live.")] = LIVE_MAX_PAGES,
) -> None:
    """Validate the sources file offline and print its counts; or check one source live."""
    from dfwatch.cli import fail, settings_from

    settings = settings_from(ctx)
    try:
        sources = load_sources(settings.sources_path)
    except ConfigError as exc:
        raise fail(f"sources error:\n{exc}") from None
    if live is not None:
        if live not in sources:
            raise fail(f"{settings.sources_path}: no source with id {live!r} (known: {', '.join(sorted(sources))})")
        raise typer.Exit(live_check(settings, sources[live], max_pages))
    cov = Coverage.of(sources)
    typer.echo(f"{settings.sources_path}: {cov.total} sources, all valid")
    for label, counts in (("type", cov.by_type), ("language", cov.by_language),
                          ("country", cov.by_country), ("strategy", cov.by_strategy)):
        typer.echo(f"  by {label + ':':<10} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    typer.echo(f"  {'verified:':<13} {cov.verified} verified, {cov.total - cov.verified} not yet crawled live")
    checks = cov.checks()
    for passed, text in checks:
        typer.echo(f"  {'ok' if passed else 'BELOW':<5}  {text}")
    if coverage and not all(passed for passed, _ in checks):
        raise fail("the sources file is valid but below the project's minimums (see BELOW)", 1)


def live_check(settings: Settings, source: Source, max_pages: int) -> int:
    """Crawl `source` once into a temporary store and data dir; 0 if it yielded dated items."""
    from scrapy.spiderloader import SpiderLoader

    from dfwatch.cli import print_report
    from dfwatch.crawling import run_crawls, scrapy_settings
    from dfwatch.search.model import SearchRequest
    from dfwatch.store.sqlite import SqliteStore

    if source.strategy not in SpiderLoader.from_settings(scrapy_settings(settings)).list():
        typer.echo(f"dfwatch: no spider implements strategy {source.strategy!r} yet; "
                   f"{source.id} cannot be checked live", err=True)
        return 2
    cap = min(source.politeness.max_pages or max_pages, max_pages)
    live = source.model_copy(update={"politeness": source.politeness.model_copy(update={"max_pages": cap}),
                                     "keywords": [], "since": None})
    typer.echo(f"live check of {source.id} ({source.strategy}): one crawl over the internet, "
               f"page cap {cap} (politeness.max_pages), into a temporary store")
    typer.echo("  keyword pre-filter, date window and relevance threshold are off: any dated item counts")
    for url in source.urls:
        typer.echo(f"  entry point: {url}")
    with tempfile.TemporaryDirectory(prefix="dfwatch-live-") as tmp:
        tmp_settings = _temporary(settings, Path(tmp), live)
        report = run_crawls(tmp_settings, {live.id: live.strategy})[0]
        store = SqliteStore(tmp_settings.sqlite_file)
        try:
            store.setup()
            docs = list(store.iter_articles(SearchRequest()))
        finally:
            store.close()
    print_report(report.as_dict())
    statuses = {k.rsplit("/", 1)[1]: v for k, v in report.stats.items()
                if k.startswith("downloader/response_status_count/")}
    typer.echo("  HTTP statuses: " + (", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())) or "none"))
    listed = sum(int(report.stats.get(f"dfwatch/{key}", 0)) for key in LISTED)
    dated = [d for d in docs if d.get("published_at")]
    on_topic = sum(1 for d in dated if d.get("relevance", {}).get("score", 0) >= settings.relevance.threshold)
    typer.echo(f"  items listed by the entry points: {listed}; articles extracted: {len(docs)}; "
               f"dated: {len(dated)} ({on_topic} on topic at threshold {settings.relevance.threshold})")
    for d in dated[:10]:
        typer.echo(f"  - {d['published_at'][:10]}  {safe_line(d.get('title', ''))[:90]}  {safe_line(d['url'])}")
    if report.pages > cap + 1 + len(source.urls):  # + robots.txt and the entry points
        typer.echo(f"  note: the {source.strategy} spider fetched {report.pages} pages; it does not "
                   "enforce politeness.max_pages yet")
    if dated:
        typer.echo(f"verdict: OK: {source.id} was fetched and yielded {len(dated)} dated items. A successful "
                   f"live check is what justifies setting `verified: true` for {source.id} "
                   f"in {settings.sources_path}.")
        return 0
    typer.echo(f"verdict: NOT VERIFIED: no dated items from {source.id}; keep `verified: false` "
               "and look at the reasons above (blocked, robots.txt, wrong URL, no dates).")
    return 1


def _temporary(settings: Settings, tmp: Path, source: Source) -> Settings:
    """The user's settings, but with a throwaway sources file, data dir and SQLite store."""
    sources_file = tmp / "sources.yaml"
    entry = source.model_dump(mode="json", exclude_none=True)
    sources_file.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    store = settings.store.model_copy(update={"elasticsearch_url": None, "sqlite_path": tmp / "live.sqlite3"})
    relevance = settings.relevance.model_copy(update={"threshold": -1e9})  # keep every article
    return settings.model_copy(update={"data_dir": tmp / "data", "sources_file": sources_file,
                                       "store": store, "relevance": relevance})


def default_tests_dir() -> Path:
    """tests/sources of this checkout (config/ sits next to pyproject.toml), else ./tests/sources."""
    root = CONFIG_DIR.parent
    return (root if (root / "pyproject.toml").is_file() else Path.cwd()) / "tests" / "sources"


@sources_app.command("new")
def sources_new(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The entry point: feed, sitemap, listing page or API URL.")],
    source_id: Annotated[str, typer.Option("--id", help="Lower-case id, e.g. hani-society.")],
    name: Annotated[str, typer.Option(help="Human-readable name.")],
    source_type: Annotated[str, typer.Option("--type", help="news|government|regulator|ngo|court|discovery")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 (EU; XX = international).")],
    language: Annotated[str, typer.Option(help="ISO 639-1 (mul = several).")],
    strategy: Annotated[str, typer.Option(help="feed|sitemap|listing|discovery")] = "feed",
    interval: Annotated[int, typer.Option(help="Schedule: minutes between crawls.")] = 360,
    rows: Annotated[str | None, typer.Option(help="listing: CSS (or xpath:…) selector of a row.")] = None,
    link: Annotated[str | None, typer.Option(help="listing: selector of the link, in a row.")] = None,
    date_sel: Annotated[str | None, typer.Option("--date", help="listing: selector of the date.")] = None,
    date_format: Annotated[str | None, typer.Option(help="listing: strptime format of the date.")] = None,
    query: Annotated[list[str] | None, typer.Option(help="discovery: GDELT query (repeatable).")] = None,
    sources_file: Annotated[Path | None, typer.Option(help="Append here (default: the configured file).")] = None,
    tests_dir: Annotated[Path | None, typer.Option(help="Fixture and test go here (default: tests/sources).")] = None,
) -> None:
    """Scaffold a source: append its entry, save its page as a fixture, and write its test."""
    from dfwatch.cli import fail, settings_from
    from dfwatch.scaffold import ScaffoldError, fetch_once, new_source, scaffold

    settings = settings_from(ctx)
    target = sources_file or settings.sources_path
    fields: dict[str, Any] = {
        "id": source_id, "name": name, "type": source_type, "country": country, "language": language,
        "strategy": strategy, "urls": [url], "schedule": {"interval_minutes": interval},
        "notes": f"Added with `dfwatch sources new` on {date.today()}; not yet checked live.",
    }
    if strategy == "listing":
        if not (rows and link):
            raise fail("strategy 'listing' needs --rows and --link selectors (and usually --date)")
        fields["listing"] = {"rows": rows, "link": link, "date": date_sel, "date_format": date_format}
    if strategy == "discovery":
        fields["discovery"] = {"api": "gdelt-doc", "queries": query or []}
        fields["politeness"] = {"download_delay": 6, "concurrent_requests": 1}
    try:
        source = new_source(fields, target)
        fetched = fetch_once(_first_request(source), settings.crawl.full_user_agent,
                             settings.crawl.download_timeout, settings.crawl.max_page_bytes,
                             settings.crawl.allow_loopback)
        done = scaffold(source, target, tests_dir or default_tests_dir(), fetched, date.today())
    except ScaffoldError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"added {source.id} to {target} (verified: false)")
    typer.echo(f"saved {fetched.url} as {done.fixture} ({len(fetched.body)} bytes)")
    typer.echo(f"wrote {done.test}: the fixture lists {done.dated_items} dated items")
    if not done.dated_items:
        typer.echo("warning: no dated items in the saved page; the new test fails until the entry is fixed")
    typer.echo(f"next: dfwatch sources check --live {source.id}")


def _first_request(source: Source) -> str:
    """The URL the strategy fetches first (a discovery API is asked its first query)."""
    if source.discovery is None:
        return str(source.urls[0])
    from urllib.parse import urlencode

    d = source.discovery
    return f"{source.urls[0]}?" + urlencode({"query": d.queries[0], "mode": "ArtList", "format": "json",
                                             "maxrecords": d.max_records, "timespan": d.timespan,
                                             "sort": "DateDesc"})
