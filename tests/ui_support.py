"""The web UI under test: the fixture corpus served by the real app on loopback, and Debian's chromium.

tests/conftest.py loads this module as a plugin, so its fixtures are available to every test module.

- `ui_site` (session): a copy of the crawled fixture corpus (SQLite) plus one hostile article
  (`HOSTILE_ID`: `<script>` and `<img onerror>` in its title, body, entity and figure sentence),
  served by `create_app` under uvicorn on 127.0.0.1 and a free port.
- `browser` (session): headless chromium from /usr/bin/chromium through playwright's
  `executable_path` (never `playwright install`).
- `page` / `phone` (function): a fresh context at a desktop / phone viewport. Every dialog is
  recorded and dismissed; at teardown the test fails if any dialog fired or the page broke its CSP
  (so no test has to remember to check).
- `shot(page, name)` saves `tests/artifacts/ui-<name>.png` (gitignored) and returns its path.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from docs_support import doc as make_doc
from docs_support import ent, fig

from dfwatch.settings import Settings, load_settings
from dfwatch.store import open_store
from dfwatch.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOSTILE_ID = "hostile-1"
HOSTILE_TITLE = 'Deepfake <script>alert("t")</script> ring <img src=x onerror=alert(1)> exposed on Telegram'
HOSTILE_TEXT = ('Police said the Telegram deepfake channel <script>alert("b")</script> had 1,200 members. '
                'A moderator wrote <img src=x onerror="alert(2)"> in the room. '
                "Investigators said 45 cases were reported in the first seven months.")
HOSTILE_ENTITY = '<b onmouseover="alert(4)">Cyber Unit</b>'


def hostile_doc() -> dict[str, Any]:
    figure = fig(45, HOSTILE_TEXT.index("45"))
    figure["sentence"] = 'Investigators said 45 <script>alert("f")</script> cases were reported.'
    return make_doc(HOSTILE_ID, "hanbit-times", "2024-08-31T09:00:00+09:00", HOSTILE_TITLE, HOSTILE_TEXT,
                    entities=(ent("Cyber Unit", HOSTILE_ENTITY),), topics=("policing",), figures=(figure,),
                    story_id="story-hostile")


@dataclass(frozen=True)
class UiSite:
    url: str  # http://127.0.0.1:PORT
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ui_site(fixture_corpus: dict[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiSite]:
    env = fixture_corpus["sqlite"]
    data = tmp_path_factory.mktemp("ui") / "data"
    shutil.copytree(env["DFWATCH_DATA_DIR"], data)
    settings = load_settings(data_dir=str(data), sources_file=env["DFWATCH_SOURCES_FILE"])
    store = open_store(settings)
    assert store.upsert([hostile_doc()]) == 1
    store.refresh()
    store.close()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, host="127.0.0.1"), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the UI server did not start"
        time.sleep(0.05)
    try:
        yield UiSite(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _watched(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="en-GB")
    pg = context.new_page()
    dialogs: list[str] = []
    violations: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()
    assert dialogs == [], f"a dialog fired: crawled text ran as script: {dialogs}"
    assert violations == [], f"the page broke its Content-Security-Policy: {violations}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from _watched(browser, {"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    yield from _watched(browser, {"width": 390, "height": 844})


def shot(pg: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"ui-{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
