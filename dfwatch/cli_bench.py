"""`dfwatch bench`: run the benchmarks (benchmarks/) and collect one report. Filled in by issue 8."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `bench` command to `app` (issue 8 fills this module)."""
