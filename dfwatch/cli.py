"""The `dfwatch` command: the one entry point to every feature."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dfwatch.settings import Settings, load_settings
from dfwatch.sources import load_sources
from dfwatch.yamlconf import ConfigError

app = typer.Typer(help="Monitor news and government releases about deepfake sexual crimes.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Settings file (YAML).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"dfwatch: {message}", err=True)
    return typer.Exit(code)


def settings_from(ctx: typer.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("config") if ctx.obj else None)
    except ConfigError as exc:
        raise fail(f"configuration error:\n{exc}") from None


def strategies(settings: Settings, chosen: list[str] | None) -> dict[str, str]:
    """Source id → crawl strategy for `chosen` (every configured source when None or empty); a bad
    sources file or an unknown id exits 2."""
    try:
        known = load_sources(settings.sources_path)
    except ConfigError as exc:
        raise fail(f"sources error:\n{exc}") from None
    ids = chosen or list(known)
    unknown = [s for s in ids if s not in known]
    if unknown:
        raise fail(f"unknown source id(s) {', '.join(unknown)} in {settings.sources_path}")
    return {s: known[s].strategy for s in ids}


@app.callback()
def main(ctx: typer.Context, config: ConfigOpt = None) -> None:
    ctx.obj = {"config": config}


@app.command()
def crawl(
    ctx: typer.Context,
    source: Annotated[list[str], typer.Option("--source", "-s", help="Source id (repeatable).")],
    stats_json: Annotated[Path | None, typer.Option(help="Also write the crawl report here.")] = None,
    log_level: Annotated[str, typer.Option(help="Scrapy log level.")] = "WARNING",
) -> None:
    """Crawl sources once: fetch, extract, filter, enrich and index their new articles."""
    from dfwatch.crawling import run_crawls

    settings = settings_from(ctx)
    reports = run_crawls(settings, strategies(settings, source), log_level)
    for report in reports:
        print_report(report.as_dict())
    if stats_json:
        stats_json.write_text(json.dumps([r.as_dict() for r in reports], indent=2))


def print_report(report: dict[str, Any]) -> None:
    typer.echo(f"{report['source']}: fetched {report['pages_fetched']} pages "
               f"({report['articles_fetched']} articles: {report['new']} new, {report['updated']} updated, "
               f"{report['unchanged']} unchanged), indexed {report['indexed']}, spooled {report['spooled']}")
    for kind in ("skipped", "dropped"):
        for reason, n in report[kind].items():
            typer.echo(f"  {kind} {n:>3}  {reason}")


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A saved HTML page.")],
    url: Annotated[str | None, typer.Option(help="The page's URL, for relative links and metadata.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Force a charset; default: detect.")] = None,
) -> None:
    """Print the title, text, dates, authors and language trafilatura finds in a page, as JSON."""
    from w3lib.encoding import html_to_unicode

    from pipelines.extract import extract_html

    raw = file.read_bytes()
    if encoding:
        html = raw.decode(encoding, errors="replace")
    else:
        _, html = html_to_unicode(None, raw)
    result = extract_html(html, url)
    if result is None:
        raise fail(f"{file}: no article text found", 1)
    typer.echo(json.dumps({
        "title": result.title, "text": result.text,
        "published": result.published_at.isoformat() if result.published_at else None,
        "modified": result.modified_at.isoformat() if result.modified_at else None,
        "authors": result.authors, "language": result.language, "url": result.canonical_url,
    }, ensure_ascii=False, indent=2))


@app.command()
def analyze(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL passages: id, text, and optional published, lang.")],
) -> None:
    """Entities, figures and relevance for each passage, as JSONL predictions on stdout."""
    from dfwatch.analyze import InputError, analyze_stream
    from nlp.pipeline import Analyzer

    settings = settings_from(ctx)
    analyzer = Analyzer(settings.nlp.model, settings.nlp.batch_size, settings.relevance.threshold)
    try:
        with (sys.stdin if str(file) == "-" else file.open(encoding="utf-8")) as fh:
            analyze_stream(analyzer, fh, sys.stdout, name=str(file))
    except (OSError, InputError) as exc:
        raise fail(str(exc), 1) from None


@app.command()
def demo(
    ctx: typer.Context,
    query: Annotated[str, typer.Option(help="What to search for after the crawl.")] = "telegram",
) -> None:
    """Serve the bundled fixture web on 127.0.0.1, crawl it, index it, and search it."""
    from dfwatch.demo import run_demo

    run_demo(settings_from(ctx), query, echo=typer.echo)


def _add_groups() -> None:
    from dfwatch import cli_bench, cli_digest, cli_schedule, cli_search, cli_serve, cli_stories, cli_worker
    from dfwatch.cli_index import index_app
    from dfwatch.cli_sources import sources_app
    from dfwatch.cli_status import status

    app.add_typer(index_app, name="index")
    app.add_typer(sources_app, name="sources")
    app.command("status")(status)
    cli_search.register(app)  # search, timeline, figures, export
    cli_stories.register(app)  # stories rebuild
    cli_serve.register(app)  # serve
    cli_digest.register(app)  # digest preview|send|list
    cli_schedule.register(app)  # schedule
    cli_bench.register(app)  # bench
    cli_worker.register(app)  # crawl-worker


_add_groups()


def run() -> None:  # pragma: no cover - console entry point
    app(prog_name="dfwatch")


if __name__ == "__main__":  # pragma: no cover
    run()
