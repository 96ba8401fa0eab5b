"""`dfwatch bench`: run the benchmarks (benchmarks/) and collect one report (benchmarks/run_all.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

# benchmarks/ is not installed with the package: it sits beside dfwatch/ in a source checkout
ROOT = Path(__file__).resolve().parents[1]


def register(app: typer.Typer) -> None:
    """Add the `bench` command to `app`."""

    @app.command()
    def bench(
        only: Annotated[str | None, typer.Option(help="Comma-separated modules to run (default: all).")] = None,
        quick: Annotated[bool, typer.Option("--quick", help="Small corpora: minutes instead of hours.")] = False,
        es_url: Annotated[str | None, typer.Option(
            help="Elasticsearch node to use (default: $DFWATCH_BENCH_ES_URL, else one devnode started "
                 "for the modules that need it).")] = None,
        out: Annotated[Path | None, typer.Option(
            help="Results directory (default: $DFWATCH_BENCH_OUT, else benchmarks/results).")] = None,
    ) -> None:
        """Run every benchmark module in its own process; write report.md and report.json.

        Modules, in order: peer, pipeline, redis_crawl, bulk_index, search_latency, ui_pages, digest_build.

        The report lists every check (value, target, ok or MISS) and each module's exit code and wall time.

        It also gives each module's peak RSS and the load average before and after it.

        Exit code 1 when a module could not run (missing, crashed, wrote no result, no Elasticsearch).

        A missed target is reported, not an error: the run still exits 0.
        """
        if not (ROOT / "benchmarks" / "run_all.py").is_file():
            typer.echo(f"dfwatch: no benchmarks/ beside {ROOT / 'dfwatch'}: run from a source checkout", err=True)
            raise typer.Exit(2)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from benchmarks import run_all

        code, _ = run_all.run(only.split(",") if only else None, quick, es_url, out)
        raise typer.Exit(code)
