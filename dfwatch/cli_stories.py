"""`dfwatch stories rebuild | show`: re-cluster the store's articles into stories, read one story.

Exit codes as for the search commands: 1 when a story is not found, 3 when the store
cannot be reached.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dfwatch.cli import fail, settings_from
from dfwatch.store import StoreError, open_store
from dfwatch.terminal import safe_line

stories_app = typer.Typer(help="Stories: the reports of one event, grouped.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `stories rebuild` and `stories show` to `app`."""
    app.add_typer(stories_app, name="stories")


@stories_app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Cluster every stored article again, oldest first, and store the story ids that changed."""
    from dfwatch.stories.rebuild import rebuild as run

    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        report = run(store)
    except StoreError as exc:
        raise fail(f"store unreachable or failing: {exc}", 3) from None
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    typer.echo(f"{report.articles} articles in {report.stories} stories ({report.grouped} of more than one "
               f"article); {report.changed} articles changed story; {report.seconds:.1f} s "
               f"({report.articles / max(report.seconds, 1e-9):,.0f} articles/s)")


@stories_app.command("show")
def show(
    ctx: typer.Context,
    story_id: Annotated[str, typer.Argument(help="A story id (the id of its first article).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON the API returns.")] = False,
) -> None:
    """A story: when it was first and last seen, its sources and articles, oldest first."""
    from dfwatch.search.service import SearchService

    if not story_id.strip():
        raise fail("a story id is required")
    settings = settings_from(ctx)
    try:
        with SearchService.open(settings) as service:
            detail = service.story(story_id)
    except StoreError as exc:
        raise fail(f"store unreachable or failing: {exc}", 3) from None
    if detail is None:
        raise fail(f"no story {story_id!r}", 1)
    if as_json:
        typer.echo(json.dumps(detail.as_dict(), ensure_ascii=False, indent=2))
        return
    story = detail.story
    typer.echo(f"{safe_line(story.title)}\n  story {story.story_id}: {story.article_count} articles from "
               f"{', '.join(story.sources)}, {(story.first_seen or '')[:10]} – {(story.last_seen or '')[:10]}")
    for doc in detail.articles:
        source = (doc.get("source") or {}).get("id", "")
        typer.echo(f"  {(doc.get('published_at') or '----------')[:10]}  {safe_line(source):<16} "
                   f"{safe_line(doc.get('title'))}\n      {safe_line(doc.get('url'))}")
