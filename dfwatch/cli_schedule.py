"""`dfwatch schedule`: run crawls, digests and housekeeping on their schedules until stopped."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from dfwatch.cli import fail, settings_from


def schedule(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Validate the config and list the jobs it defines, "
                                                        "with their next run; start nothing.")] = False,
    log_level: Annotated[str, typer.Option(help="Log level of the service (stderr).")] = "INFO",
) -> None:
    """Run every source's crawl, every subscription's digest and housekeeping on schedule, until SIGTERM/Ctrl-C."""
    from dfwatch.schedule.clock import Clock
    from dfwatch.schedule.service import AlreadyRunning, JobStoreError, Service, load_specs
    from dfwatch.yamlconf import ConfigError

    settings = settings_from(ctx)
    if check:
        speed = settings.schedule.clock_speed
        clock = Clock(speed, datetime.now(UTC)) if speed > 1 else Clock()
        try:
            specs = load_specs(settings, clock)
        except ConfigError as exc:
            raise fail(f"configuration error:\n{exc}") from None
        now = datetime.now(UTC)
        for spec in sorted(specs.values(), key=lambda s: s.id):
            first = spec.trigger.get_next_fire_time(None, now)
            typer.echo(f"{spec.id:<40} first {first.isoformat(timespec='seconds') if first else 'never'}  "
                       f"({spec.name})")
        typer.echo(f"{len(specs)} jobs")
        return
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    config = (ctx.obj or {}).get("config")
    service = Service(settings, Path(config) if config else None, echo=lambda line: typer.echo(line))
    try:
        code = service.run()
    except (AlreadyRunning, JobStoreError) as exc:
        raise fail(str(exc), 3) from None
    except ConfigError as exc:
        raise fail(f"configuration error:\n{exc}") from None
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `schedule` to `app`."""
    app.command("schedule")(schedule)
