"""`dfwatch index …`: create and maintain the index."""

from __future__ import annotations

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.store import StoreError, open_store

index_app = typer.Typer(help="Create and maintain the index.", no_args_is_help=True)


@index_app.command("setup")
def index_setup(ctx: typer.Context) -> None:
    """Create the index template, index and alias (or SQLite tables); safe to re-run."""
    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        store.setup()
    except StoreError as exc:
        raise fail(str(exc), 3) from None
    finally:
        store.close()
    where = settings.store.elasticsearch_url or settings.sqlite_file
    typer.echo(f"{settings.store.backend} store ready at {where}")


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
