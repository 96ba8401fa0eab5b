"""`dfwatch sources …`: check and scaffold crawl sources."""

from __future__ import annotations

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.sources import load_sources
from dfwatch.yamlconf import ConfigError

sources_app = typer.Typer(help="Check and add crawl sources.", no_args_is_help=True)


@sources_app.command("check")
def sources_check(ctx: typer.Context) -> None:
    """Validate the sources file offline."""
    settings = settings_from(ctx)
    try:
        sources = load_sources(settings.sources_path)
    except ConfigError as exc:
        raise fail(f"sources error:\n{exc}") from None
    typer.echo(f"{settings.sources_path}: {len(sources)} sources, all valid")
