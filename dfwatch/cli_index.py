"""`dfwatch index …`: create, inspect, migrate and replay into the index."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.settings import Settings
from dfwatch.store import StoreError, open_store

if TYPE_CHECKING:
    from dfwatch.store.es_index import IndexManager

index_app = typer.Typer(help="Create and maintain the index.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _manager(settings: Settings, command: str) -> IndexManager:
    from dfwatch.store.es_index import IndexManager

    if settings.store.backend != "elasticsearch":
        raise fail(f"`dfwatch index {command}` applies to Elasticsearch (store.elasticsearch_url is not set; "
                   f"the SQLite store at {settings.sqlite_file} upgrades itself in `dfwatch index setup`)")
    return IndexManager.from_settings(settings.store)


@index_app.command("setup")
def index_setup(ctx: typer.Context) -> None:
    """Create the index templates, indices and aliases (or SQLite tables); safe to re-run."""
    settings = settings_from(ctx)
    if settings.store.backend == "sqlite":
        store = open_store(settings)
        try:
            store.setup()
        except StoreError as exc:
            raise fail(str(exc), 3) from None
        finally:
            store.close()
        typer.echo(f"sqlite store ready at {settings.sqlite_file}")
        return
    manager = _manager(settings, "setup")
    try:
        done = manager.setup()
    except StoreError as exc:
        raise fail(str(exc), 3) from None
    finally:
        manager.close()
    caps = ", ".join(done["capabilities"]) or "none; core analysers only"
    typer.echo(f"elasticsearch store ready at {settings.store.elasticsearch_url} (optional analysers: {caps})")
    for line in done["changes"] or ["nothing to change"]:
        typer.echo(f"  {line}")
    for line in done["pending"]:
        typer.echo(f"  pending: {line}")


@index_app.command("migrate")
def index_migrate(
    ctx: typer.Context,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the old indices (without aliases).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild every index, even if up to date.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild indices older than the newest template: new index, copy, atomic alias swap."""
    settings = settings_from(ctx)
    manager = _manager(settings, "migrate")
    try:
        report = manager.migrate(keep_old=keep_old, force=force, progress=_Progress())
    except StoreError as exc:
        raise fail(str(exc), 3) from None
    finally:
        manager.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    for m in report.migrated:
        old = "kept" if not m.old_deleted else "deleted"
        typer.echo(f"{m.kind}: {m.old_index} (v{m.old_version}) -> {m.new_index} (v{m.new_version}): copied "
                   f"{m.copied}, kept {m.kept_newer} written meanwhile, {m.new_count} documents in the new index, "
                   f"{m.seconds:.1f}s; old index {old}")
    for kind, index in report.up_to_date.items():
        typer.echo(f"{kind}: {index} is up to date")
    typer.echo(f"done in {report.seconds:.1f}s")


class _Progress:
    """Copy progress on stderr, at most every 5 seconds per kind."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def __call__(self, kind: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last.setdefault(kind, now) >= 5:
            self.last[kind] = now
            typer.echo(f"{kind}: {done}/{total} documents copied", err=True)


@index_app.command("status")
def index_status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Indices behind each alias: mapping version, documents, analysers, pending migrations."""
    settings = settings_from(ctx)
    manager = _manager(settings, "status")
    try:
        status = manager.status()
    except StoreError as exc:
        raise fail(str(exc), 3) from None
    finally:
        manager.close()
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    typer.echo(f"prefix {status['prefix']}; optional analysers on the node: "
               f"{', '.join(status['capabilities']) or 'none'}")
    for kind, k in status["kinds"].items():
        typer.echo(_status_line(kind, k))


def _status_line(kind: str, k: dict[str, Any]) -> str:
    if k["read_index"] is None:
        return f"{kind}: no index behind {k['read_alias']}; run `dfwatch index setup`"
    line = (f"{kind}: {k['read_alias']} -> {k['read_index']} (v{k['version']} of {k['latest_version']}, "
            f"{k['docs']} documents); writes: {k['write_alias']} -> {k['write_index']}")
    if k["needs_migration"]:
        line += "; run `dfwatch index migrate`"
    if k["unused_capabilities"]:
        line += f"; analysers {', '.join(k['unused_capabilities'])} unused: `dfwatch index migrate --force`"
    if k["other_indices"]:
        line += f"; other indices: {', '.join(k['other_indices'])}"
    return line


@index_app.command("replay")
def index_replay(ctx: typer.Context) -> None:
    """Write spooled documents (kept while the store was unreachable) to the store."""
    from dfwatch.spool import Spool

    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        store.setup()
        written = Spool(settings.data_path / "spool").replay(store)
    except StoreError as exc:
        raise fail(f"{exc}; spooled documents are kept", 3) from None
    finally:
        store.close()
    typer.echo(f"replayed {written} documents")
