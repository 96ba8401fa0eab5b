"""The UI's shell on the real app in headless chromium: layout, CSP, errors as pages, keyboard, access."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from ui_support import UiSite, shot

from dfwatch.settings import load_settings
from dfwatch.web import create_app

KEY = "ui-test-key-0123456789"


def test_pages_forbid_every_script_and_errors_are_pages(ui_site: UiSite) -> None:
    r = httpx.get(f"{ui_site.url}/no-such-page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    assert "<script" not in r.text
    api = httpx.get(f"{ui_site.url}/api/no-such-route")
    assert api.status_code == 404 and api.json()["error"] == "not_found"  # the API still answers JSON


def test_skip_link_is_the_first_tab_stop_and_lands_on_main(page: Any, ui_site: UiSite) -> None:
    page.goto(f"{ui_site.url}/no-such-page")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_phone_viewport_has_no_sideways_scroll(phone: Any, ui_site: UiSite) -> None:
    phone.goto(f"{ui_site.url}/no-such-page")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "error-phone")


def test_with_a_key_pages_ask_for_it_as_a_basic_password(tmp_path: Any) -> None:
    settings = load_settings(data_dir=str(tmp_path), web={"api_key": KEY})
    client = TestClient(create_app(settings))
    denied = client.get("/")
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
    assert client.get("/", auth=("anyone", "wrong-key-0123456789")).status_code == 401
    assert client.get("/", auth=("anyone", KEY)).status_code == 200
    assert client.get("/", headers={"X-API-Key": KEY}).status_code == 200
    assert client.get("/static/ui.css").status_code == 200  # the stylesheet is public
