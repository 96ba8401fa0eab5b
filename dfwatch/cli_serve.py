"""`dfwatch serve`: the web UI and the JSON API with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dfwatch.cli import fail, settings_from

HostOpt = Annotated[str | None, typer.Option(help="Address to bind (default: the web.host setting, 127.0.0.1). "
                                                  "Anything but loopback requires DFWATCH_WEB__API_KEY.")]
PortOpt = Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: the web.port setting, 8000).")]
ReloadOpt = Annotated[bool, typer.Option("--reload/--no-reload", help="Restart when the code changes "
                                                                      "(development).")]


def serve(ctx: typer.Context, host: HostOpt = None, port: PortOpt = None, reload: ReloadOpt = False) -> None:
    """Serve the web UI at / and the JSON API under /api (spec at /openapi.json, docs at /docs) until Ctrl-C."""
    import uvicorn

    from dfwatch.web import KeyRequired, create_app

    settings = settings_from(ctx)
    host = host or settings.web.host
    port = port or settings.web.port
    try:
        app = create_app(settings, host)  # checks the binding before anything listens
    except KeyRequired as exc:
        raise fail(str(exc)) from None
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    typer.echo(f"dfwatch: serving {url} (the web UI; JSON API {url}api/, docs {url}docs); Ctrl-C stops")
    options = {"host": host, "port": port, "server_header": False, "log_level": "info"}
    if not reload:
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    # a reloading server imports the app in a fresh process: hand it the same settings through the environment
    config = (ctx.obj or {}).get("config")
    if config:
        os.environ["DFWATCH_CONFIG"] = str(Path(config).resolve())
    os.environ["DFWATCH_WEB__HOST"], os.environ["DFWATCH_WEB__PORT"] = host, str(port)
    uvicorn.run("dfwatch.web.app:app_from_environment", factory=True, reload=True,
                reload_dirs=[str(Path(__file__).resolve().parent)], **options)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add `serve` to `app`."""
    app.command("serve")(serve)
