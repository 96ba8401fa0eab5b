"""The JSON API over the real search service and a real store (SQLite; the key routes on Elasticsearch too).

The corpus mirrors the store contract suite's (tests/test_store_contract.py), plus one planted
conflicting figure. Nothing is mocked: the app opens its SearchService from settings.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from docs_support import CORPUS as CONTRACT_CORPUS
from docs_support import KNPA, doc, ent, fig
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dfwatch.cli import app as cli_app
from dfwatch.search.model import encode_cursor
from dfwatch.settings import Settings, load_settings
from dfwatch.store import open_store
from dfwatch.web import KeyRequired, create_app
from dfwatch.web.auth import is_loopback

CORPUS = [
    *CONTRACT_CORPUS,
    # the planted conflict: another outlet reports 279 for the same measure, place and period
    doc("d11", "korea-daily", "2024-08-30T10:00:00+09:00", "Police tally 279 deepfake cases",
        "Police counted 279 deepfake crime cases in the first seven months.",
        entities=(ent("police", KNPA),), topics=("policing",), figures=(fig(279, 14),)),
]
ALL = {d["id"] for d in CORPUS}
DATE_ORDER = ["d04", "d09", "d05", "d11", "d02", "d06", "d01", "d03", "d07", "d08", "d10"]  # newest first
TELEGRAM = {"d01", "d03", "d04", "d05"}
KEY = "test-key-0123456789-abcdef"


# ---------------------------------------------------------------- fixtures

def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir=str(data_dir), **overrides)


def load_corpus(settings: Settings, docs: list[dict[str, Any]] = CORPUS) -> None:
    store = open_store(settings)
    store.setup()
    assert store.upsert(docs) == len(docs)
    store.refresh()
    store.close()


def drop_indices(url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url)
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for t in templates.get("index_templates", []) if templates.meta.status == 200 else []:
        es.indices.delete_index_template(name=t["name"])
    es.close()


@pytest.fixture(scope="module")
def sqlite_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("api"))
    load_corpus(settings)
    return settings


@pytest.fixture(scope="module")
def api(sqlite_settings: Settings) -> Iterator[TestClient]:
    """The SQLite-backed app, no API key, on loopback."""
    with TestClient(create_app(sqlite_settings)) as client:
        yield client


@pytest.fixture(scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app over each store, loaded with CORPUS."""
    if request.param == "sqlite":
        yield request.getfixturevalue("api")
        return
    url = request.getfixturevalue("es_url")
    prefix = f"tapi{time.monotonic_ns() % 10**9}"
    settings = make_settings(tmp_path_factory.mktemp("api-es"),
                             store={"elasticsearch_url": url, "index_prefix": prefix})
    load_corpus(settings)
    try:
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        drop_indices(url, prefix)


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def hit_ids(client: TestClient, **params: Any) -> set[str]:
    page = get(client, "/api/search", size=100, facets=False, **params)
    assert page["total"] == len(page["hits"])
    return {h["id"] for h in page["hits"]}


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    return body


# ---------------------------------------------------------------- search

def test_search_words_and_filters(both: TestClient) -> None:
    assert hit_ids(both, q="telegram") == TELEGRAM
    assert hit_ids(both, q="telegram -founder") == TELEGRAM - {"d03"}
    assert hit_ids(both, source="asia-wire") == {"d02", "d03", "d09"}
    assert hit_ids(both, source=["asia-wire", "ofcom"]) == {"d02", "d03", "d07", "d09"}
    assert hit_ids(both, type="government") == {"d06", "d07"}
    assert hit_ids(both, country="GB") == {"d07"}
    assert hit_ids(both, lang="ko") == {"d06"}
    assert hit_ids(both, entity="telegram") == TELEGRAM | {"d05"}
    assert hit_ids(both, topic="law") == {"d04", "d07"}
    assert hit_ids(both, has_figures="true") == {"d01", "d02", "d04", "d06", "d07", "d11"}
    assert hit_ids(both, has_figures="false") == {"d03", "d05", "d08", "d09", "d10"}
    assert hit_ids(both, **{"from": "2024-08-31", "to": "2024-08-31"}) == {"d05"}  # UTC days
    assert hit_ids(both, q="source:asia-wire deepfake -type:government") == {"d02", "d09"}
    assert hit_ids(both, story="story-297") == {"d01", "d02"}


def test_search_page_shape_and_facets(both: TestClient) -> None:
    page = get(both, "/api/search", q="telegram", size=2)
    assert page["total"] == 4 and len(page["hits"]) == 2 and page["next_after"]
    hit = page["hits"][0]
    assert set(hit) >= {"id", "title", "url", "source", "published_at", "lead", "score", "story_id", "highlights"}
    assert set(page["facets"]) == {"sources", "entities", "topics", "countries"}
    sources = {f["value"]: f["count"] for f in page["facets"]["sources"]}
    assert sources == {"hanbit-times": 3, "asia-wire": 1}


def test_cursor_paging_visits_every_hit_once_in_date_order(both: TestClient) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"sort": "date", "size": 3, "facets": "false"}
    for _ in range(10):
        page = get(both, "/api/search", **params)
        seen += [h["id"] for h in page["hits"]]
        if not page["next_after"]:
            break
        params["after"] = page["next_after"]
    assert seen == DATE_ORDER


def test_collapse_gives_one_hit_per_story_and_pages(both: TestClient) -> None:
    page = get(both, "/api/search", collapse="true", size=100, sort="date")
    assert page["total"] == len(CORPUS)  # articles, not stories
    stories = [h["story_id"] for h in page["hits"]]
    assert len(stories) == len(set(stories)) == len(CORPUS) - 1
    sizes = {h["story_id"]: h["story_size"] for h in page["hits"]}
    assert sizes["story-297"] == 2
    paged = [h["story_id"] for p in range(3)
             for h in get(both, "/api/search", collapse="true", size=4, page=p, sort="date")["hits"]]
    assert paged == stories


def test_highlights_are_the_stores_escaped_html(both: TestClient) -> None:
    page = get(both, "/api/search", q="warning")
    (hit,) = page["hits"]
    assert hit["title"] == "<script>alert(1)</script> deepfake warning"  # raw text: JSON, not HTML
    fragments = [f for frags in hit["highlights"].values() for f in frags]
    assert fragments and all("<script" not in f and "<b>" not in f for f in fragments)
    assert any("&lt;script&gt;" in f and "<mark>warning</mark>" in f.lower() for f in fragments)


# ---------------------------------------------------------------- timeline, figures, stories, articles

def test_timeline_monthly_counts_events_and_trends(both: TestClient) -> None:
    tl = get(both, "/api/timeline", q="telegram", interval="month")
    assert tl["interval"] == "month" and tl["total"] == 4
    assert [(b["key"][:10], b["count"]) for b in tl["buckets"]] == [("2024-08-01", 3), ("2024-09-01", 1)]
    assert {e["article_id"] for e in tl["events"]} == TELEGRAM
    assert tl["entity_trends"][0]["entity"] == "Telegram" and tl["entity_trends"][0]["total"] == 4
    auto = get(both, "/api/timeline", q="telegram", events=0, entities=0)
    assert auto["interval"] in ("day", "week") and auto["events"] == [] and auto["entity_trends"] == []


def test_figures_filters_and_cursor(both: TestClient) -> None:
    def figs(**params: Any) -> list[tuple[str, float]]:
        body = get(both, "/api/figures", **params)
        return sorted((f["article_id"], f["value"]) for f in body["figures"])

    police = figs(measure="police_cases_reported")
    assert police == [("d01", 297), ("d02", 180), ("d02", 297), ("d06", 297), ("d11", 279)]
    assert figs(measure="police_cases_reported", source="asia-wire") == [("d02", 180), ("d02", 297)]
    assert figs(article_id="d01") == [("d01", 297), ("d01", 220000)]
    assert figs(measure="police_cases_reported", q="telegram") == [("d01", 297)]
    assert figs(place="United Kingdom") == [("d07", 18_000_000)]
    assert figs(measure="police_cases_reported", period_to="2023-12-31") == [("d02", 180)]
    seen, params = [], {"measure": "police_cases_reported", "size": 2}
    for _ in range(5):
        body = get(both, "/api/figures", **params)
        seen += [f["id"] for f in body["figures"]]
        if not body["next_after"]:
            break
        params["after"] = body["next_after"]
    assert len(seen) == len(set(seen)) == 5


def test_figure_series_flags_the_planted_conflict(both: TestClient) -> None:
    series = get(both, "/api/figures/series", measure="police_cases_reported", place="South Korea")
    points = {(p["period_start"], p["period_end"]): p for p in series["points"]}
    assert set(points) == {("2023-01-01", "2023-12-31"), ("2024-01-01", "2024-07-31")}
    old, new = points[("2023-01-01", "2023-12-31")], points[("2024-01-01", "2024-07-31")]
    assert old["value"] == 180 and not old["conflict"]
    assert new["value"] == 297 and new["conflict"]
    assert [v["value"] for v in new["versions"]] == [297, 279]
    assert {r["source_id"] for r in new["versions"][0]["reports"]} == {"hanbit-times", "asia-wire", "police-press"}
    assert [r["source_id"] for r in new["versions"][1]["reports"]] == ["korea-daily"]
    assert all(r["sentence"] for v in new["versions"] for r in v["reports"])


def test_story_and_article(both: TestClient) -> None:
    story = get(both, "/api/stories/story-297")
    assert story["story"]["article_count"] == 2 and story["story"]["sources"] == ["hanbit-times", "asia-wire"]
    assert [a["id"] for a in story["articles"]] == ["d01", "d02"]
    assert all("text" not in a and "signature" not in a for a in story["articles"])
    assert len(story["figures"]) == 4 and KNPA in {e["value"] for e in story["entities"]}
    article = get(both, "/api/articles/d09")
    assert article["title"] == CORPUS[8]["title"] and article["text"] == CORPUS[8]["text"]
    assert "signature" not in article and "text_ko" not in article
    assert error(both.get("/api/articles/nope"), 404) == {"error": "not_found", "detail": "no article with id 'nope'"}
    assert error(both.get("/api/stories/nope"), 404)["error"] == "not_found"


# ---------------------------------------------------------------- exports

def export(client: TestClient, **params: Any) -> tuple[Any, bytes]:
    response = client.get("/api/export", params=params)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="dfwatch-') and disposition.endswith(f'.{params["format"]}"')
    return response, response.content


def test_export_articles_in_each_format(both: TestClient) -> None:
    response, body = export(both, target="articles", format="csv", q="telegram")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    first, rest = body.decode().split("\n", 1)
    header = json.loads(first.removeprefix("# dfwatch export "))
    assert header["query"]["q"] == "telegram" and header["target"] == "articles" and header["run_at"]
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert {r["id"] for r in rows} == TELEGRAM and all(r["text"] for r in rows)

    response, body = export(both, target="articles", format="jsonl", source="asia-wire")
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert lines[0]["_export"]["query"]["filters"]["source"] == ["asia-wire"]
    assert {r["id"] for r in lines[1:]} == {"d02", "d03", "d09"}
    assert next(r for r in lines[1:] if r["id"] == "d09")["title"] == CORPUS[8]["title"]

    response, body = export(both, target="articles", format="parquet")
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(body))
    assert set(table.column("id").to_pylist()) == ALL
    assert json.loads(table.schema.metadata[b"dfwatch.export"])["format"] == "parquet"


def test_export_figures(both: TestClient) -> None:
    _, body = export(both, target="figures", format="parquet", measure="police_cases_reported")
    rows = pq.read_table(io.BytesIO(body)).to_pylist()
    assert sorted((r["article_id"], r["value"]) for r in rows) == [
        ("d01", 297), ("d02", 180), ("d02", 297), ("d06", 297), ("d11", 279)]
    assert {r["story_id"] for r in rows if r["article_id"] in ("d01", "d02")} == {"story-297"}
    _, body = export(both, target="figures", format="csv", source="ofcom")
    rows = list(csv.DictReader(io.StringIO(body.decode().split("\n", 1)[1])))
    assert [(r["measure"], r["place"]) for r in rows] == [("max_fine", "United Kingdom")]


def test_export_parameter_errors(api: TestClient) -> None:
    assert error(api.get("/api/export", params={"target": "articles", "format": "xlsx"}), 422)["fields"][0][
        "param"] == "format"
    body = error(api.get("/api/export", params={"target": "articles", "format": "csv", "measure": "x"}), 422)
    assert body["detail"] == "measure: applies to target=figures only"
    assert error(api.get("/api/export", params={"format": "csv"}), 422)["fields"][0]["param"] == "target"


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize(("params", "param", "words"), [
    ({"size": 101}, "size", "less than or equal to 100"),
    ({"size": -1}, "size", "greater than or equal to 0"),
    ({"size": "ten"}, "size", "valid integer"),
    ({"from": "2024-13-01"}, "from", "date"),
    ({"from": "0"}, "from", "write days as YYYY-MM-DD"),
    ({"to": "2024-1-1"}, "to", "write days as YYYY-MM-DD"),
    ({"from": "2024-09-01", "to": "2024-08-01"}, "from", "after to"),
    ({"sort": "oldest"}, "sort", "'relevance' or 'date'"),
    ({"has_figures": "maybe"}, "has_figures", "boolean"),
    ({"page": 2}, "page", "collapsed results only"),
    ({"collapse": "true", "after": encode_cursor([1])}, "after", "collapse"),
    ({"collapse": "true", "page": 200, "size": 100}, "page", "at most 10000"),
    ({"q": "x" * 2001}, "q", "at most 2000 characters"),
    ({"source": ["s"] * 51}, "source", "at most 50 values"),
])
def test_invalid_search_parameters_are_clear_422s(api: TestClient, params: dict[str, Any], param: str,
                                                   words: str) -> None:
    body = error(api.get("/api/search", params=params), 422)
    assert body["error"] == "invalid_parameter"
    assert body["fields"][0]["param"] == param and words in body["detail"], body


def test_size_cap_message_points_to_the_cursor(api: TestClient) -> None:
    body = error(api.get("/api/search", params={"size": 1000}), 422)
    assert "at most 100 results" in body["detail"] and "`after`" in body["detail"]


@pytest.mark.parametrize("cursor", ["not-a-cursor!", "e30", encode_cursor([{"x": 1}]), encode_cursor(["a"] * 9)])
def test_invalid_cursor_is_a_400(api: TestClient, cursor: str) -> None:
    body = error(api.get("/api/search", params={"q": "telegram", "after": cursor}), 400)
    assert body["error"] == "bad_request" and "cursor" in body["detail"]
    assert error(api.get("/api/figures", params={"after": cursor}), 400)["error"] == "bad_request"


def test_other_parameter_errors(api: TestClient) -> None:
    assert error(api.get("/api/timeline", params={"interval": "hour"}), 422)["fields"][0]["param"] == "interval"
    assert error(api.get("/api/timeline", params={"top_stories": 11}), 422)["fields"][0]["param"] == "top_stories"
    assert error(api.get("/api/figures/series"), 422)["fields"][0]["param"] == "measure"
    assert error(api.get("/api/figures", params={"period_from": "2024-02-01", "period_to": "2024-01-01"}),
                 422)["fields"][0]["param"] == "period_from"
    assert error(api.get("/api/figures", params={"size": 101}), 422)["fields"][0]["param"] == "size"
    assert error(api.get("/api/articles/" + "x" * 201), 422)["fields"][0]["param"] == "article_id"
    assert error(api.get("/api/nowhere"), 404)["error"] == "not_found"
    assert error(api.post("/api/search"), 405)["error"] == "method_not_allowed"


def test_odd_but_valid_input_is_answered(api: TestClient) -> None:
    for q in ['"unclosed', "a OR", "-", "NOT", "entity:", "*:*", "source:\"a b", "\x00", "딥페이크", ")(", "title:x^9"]:
        assert api.get("/api/search", params={"q": q}).status_code == 200, q
        assert api.get("/api/timeline", params={"q": q}).status_code == 200, q
    wide = {"from": "1900-01-01", "to": "2199-12-31"}
    assert get(api, "/api/search", **wide)["total"] == len(CORPUS) - 1  # all but the undated one
    assert get(api, "/api/timeline", **wide)["total"] == len(CORPUS) - 1
    body = error(api.get("/api/search", params={"to": "9999-12-31"}), 422)
    assert body["detail"] == "to: days run from 1900-01-01 to 2199-12-31"
    assert error(api.get("/api/figures", params={"period_from": "0001-01-01"}), 422)["fields"][0][
        "param"] == "period_from"
    assert get(api, "/api/search", q="nothingmatchesthis")["hits"] == []
    assert get(api, "/api/figures/series", measure="no_such_measure")["points"] == []


# ---------------------------------------------------------------- API key, binding, headers

def test_loopback_detection() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.org", ""]))


def test_a_non_loopback_app_needs_a_key(sqlite_settings: Settings) -> None:
    with pytest.raises(KeyRequired, match="refusing to serve on 0.0.0.0.*DFWATCH_WEB__API_KEY"):
        create_app(sqlite_settings, host="0.0.0.0")
    with pytest.raises(KeyRequired):
        create_app(sqlite_settings.model_copy(update={"web": sqlite_settings.web.model_copy(
            update={"host": "::"})}))
    create_app(sqlite_settings, host="127.0.0.1")  # optional on loopback


def keyed(settings: Settings) -> Settings:
    from pydantic import SecretStr

    return settings.model_copy(update={"web": settings.web.model_copy(update={"api_key": SecretStr(KEY)})})


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_a_configured_key_is_required_everywhere_but_health(sqlite_settings: Settings, host: str) -> None:
    settings = keyed(sqlite_settings)
    with TestClient(create_app(settings, host=host)) as client:
        for path in ("/api/search", "/api/timeline", "/api/figures", "/api/articles/d01",
                     "/api/export?target=articles&format=csv"):
            body = error(client.get(path), 401)
            assert body["error"] == "unauthorized" and "X-API-Key" in body["detail"]
            assert error(client.get(path, headers={"X-API-Key": "wrong"}), 401)["detail"] == "invalid API key"
            assert error(client.get(path, headers={"Authorization": "Bearer wrong"}), 401)
            assert error(client.get(path, headers={"Authorization": "Basic " + KEY}), 401)
        assert client.get("/api/search", headers={"X-API-Key": KEY}).status_code == 200
        assert client.get("/api/search", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert client.get("/api/search", headers={"X-API-Key": KEY + "x"}).status_code == 401
        assert client.get("/api/health").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert error(client.get("/api/search", params={"size": 999}), 401)  # no probing without the key


def test_key_comes_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfwatch.yamlconf import ConfigError

    (tmp_path / "u.yaml").write_text("web:\n  api_key: abc\n")
    with pytest.raises(ConfigError, match="DFWATCH_WEB__API_KEY"):
        load_settings(tmp_path / "u.yaml")
    monkeypatch.setenv("DFWATCH_WEB__API_KEY", KEY)
    settings = load_settings(data_dir=str(tmp_path))
    assert settings.web.api_key is not None and settings.web.api_key.get_secret_value() == KEY
    create_app(settings, host="0.0.0.0")
    for weak in ("short", "has a space in the key", "ключ-ключ-ключ-ключ"):
        monkeypatch.setenv("DFWATCH_WEB__API_KEY", weak)
        with pytest.raises(ConfigError, match="DFWATCH_WEB__API_KEY.*at least 16 visible ASCII"):
            load_settings(data_dir=str(tmp_path))
    monkeypatch.setenv("DFWATCH_WEB__API_KEY", "")
    assert load_settings(data_dir=str(tmp_path)).web.api_key is None


def test_serve_refuses_a_public_address_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DFWATCH_WEB__API_KEY", "DFWATCH_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DFWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8765"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0" in result.output and "DFWATCH_WEB__API_KEY" in result.output


SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def test_security_headers_on_every_kind_of_response(api: TestClient) -> None:
    responses = [api.get("/api/search"), api.get("/api/articles/nope"), api.get("/api/search?size=999"),
                 api.get("/api/health"), api.get("/openapi.json"), api.get("/api/nowhere"),
                 api.get("/api/export", params={"target": "articles", "format": "jsonl"})]
    for response in responses:
        assert {k: response.headers.get(k) for k in SECURITY} == SECURITY, response.url
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert responses[0].headers["cache-control"] == "no-store"
    page = api.get("/nowhere")  # outside /api: the web UI's 404 page, with its own no-script policy
    assert {k: page.headers.get(k) for k in SECURITY} == SECURITY
    assert page.status_code == 404 and "script-src 'none'" in page.headers["content-security-policy"]


def test_openapi_spec_and_docs_page_without_cdn(api: TestClient) -> None:
    spec = get(api, "/openapi.json")
    assert {"/api/search", "/api/timeline", "/api/figures", "/api/figures/series", "/api/stories/{story_id}",
            "/api/articles/{article_id}", "/api/export", "/api/health"} <= set(spec["paths"])
    search = spec["paths"]["/api/search"]["get"]
    size = next(p for p in search["parameters"] if p["name"] == "size")
    assert size["schema"]["maximum"] == 100
    assert {"200", "400", "401", "422", "503"} <= set(search["responses"])
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "cdn" not in page.text.lower() and "/api/figures/series" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'; style-src 'sha256-")
    assert api.get("/redoc").status_code == 404


# ---------------------------------------------------------------- store down, health

def test_health(api: TestClient) -> None:
    assert get(api, "/api/health") | {"version": "v"} == {
        "status": "ok", "store": "sqlite", "articles": len(CORPUS), "version": "v", "detail": None}


def test_store_down_is_a_503_not_a_500(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, store={"elasticsearch_url": "http://127.0.0.1:9", "request_timeout": 2})
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/health")
        assert body.status_code == 503 and body.json()["status"] == "unavailable"
        for path in ("/api/search?q=telegram", "/api/timeline", "/api/articles/d01",
                     "/api/export?target=figures&format=csv"):
            assert error(client.get(path), 503)["error"] == "store_unavailable", path


# ---------------------------------------------------------------- streaming exports

def synthetic(n: int) -> list[dict[str, Any]]:
    text = "Police said deepfake sex crime reports rose again this month across the region. " * 60
    return [doc(f"s{i:05d}", "hanbit-times", f"2024-0{1 + i % 9}-1{i % 10}T10:00:00+00:00", f"Report {i}", text)
            for i in range(n)]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """2,000 articles of ~5 kB (~10 MB of CSV): far more than the pipe and the socket buffers hold."""
    settings = make_settings(tmp_path_factory.mktemp("big"), web={"max_exports": 1})
    load_corpus(settings, synthetic(2000))
    return settings


def wait_for(check: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live(app: Any) -> Iterator[str]:
    """The app on a real uvicorn server on loopback, in a thread."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_export_streams_and_a_client_that_leaves_cancels_it(big: Settings, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    import httpx

    app = create_app(big)
    slots = app.state.exports
    params = {"target": "articles", "format": "csv"}
    with live(app) as url, httpx.Client(base_url=url, timeout=60) as http, caplog.at_level("INFO"):
        # a client with a small receive buffer that reads one piece and leaves (kernel buffers on loopback
        # can hold megabytes; the export is ~10 MB, so the server must still be writing when it leaves)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        sock.sendall(b"GET /api/export?target=articles&format=csv HTTP/1.1\r\nHost: test\r\n\r\n")
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
        # max_exports = 1: while this one runs, another is refused
        busy = http.get("/api/export", params=params)
        assert error(busy, 429)["error"] == "too_many_requests" and busy.headers["retry-after"] == "10"
        sock.close()
        # the client left after one chunk: the writer thread stops and frees its slot
        assert wait_for(lambda: slots.acquire(blocking=False)), "the export thread did not stop"
        slots.release()
        assert "export stopped: the client went away" in caplog.text
        full = http.get("/api/export", params=params)
        assert full.status_code == 200 and len(full.content) > 8_000_000
        assert full.content.count(b"\n") == 2000 + 2  # header line, column names, one line per article


def test_the_service_is_opened_once_and_closed_at_shutdown(sqlite_settings: Settings) -> None:
    app = create_app(sqlite_settings)
    holder = app.state.services
    with TestClient(app) as client:
        service = holder._service
        assert service is not None  # opened at startup
        for q in ("telegram", "police", "deepfake"):
            assert client.get("/api/search", params={"q": q}).status_code == 200
        assert holder.get() is service
    assert holder._service is None


def test_concurrent_requests_share_one_service(api: TestClient) -> None:
    """Sync routes run in the threadpool; the SQLite store gives each thread its own connection."""
    results: list[int] = []

    def work() -> None:
        for q in ("telegram", "deepfake", "police"):
            results.append(api.get("/api/search", params={"q": q}).status_code)
            results.append(api.get("/api/timeline", params={"q": q}).status_code)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 48


def test_serve_prints_its_url_and_answers(sqlite_settings: Settings, env: dict[str, str]) -> None:
    """The real command: uvicorn on loopback, over the SQLite store, with concurrent clients."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    port = free_port()
    env = dict(env, DFWATCH_DATA_DIR=str(sqlite_settings.data_dir))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "dfwatch", "serve", "--port", str(port)], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().startswith(f"dfwatch: serving http://127.0.0.1:{port}/"), line
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(httpx, url + "/api/health"), 30)
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(lambda q: httpx.get(url + "/api/search", params={"q": q}, timeout=30),
                                  ["telegram", "deepfake", "police", "297"] * 6))
        assert [p.status_code for p in pages] == [200] * 24
        assert {p.json()["total"] for p in pages[::4]} == {4}
        assert "server" not in pages[0].headers
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers(httpx: Any, url: str) -> bool:
    try:
        return bool(httpx.get(url, timeout=2).status_code == 200)
    except httpx.HTTPError:
        return False
