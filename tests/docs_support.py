"""Article documents in the stored shape, for the store contract suite and the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dfwatch.settings import StoreSettings
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.es_index import IndexManager

SOURCES = {
    "hanbit-times": ("Hanbit Times", "news", "KR", "en"),
    "asia-wire": ("Asia Wire", "news", "SG", "en"),
    "police-press": ("Korean National Police Agency", "government", "KR", "ko"),
    "ofcom": ("Ofcom", "government", "GB", "en"),
    "helpline": ("Digital Sex Crime Victim Support Center", "ngo", "KR", "en"),
    "korea-daily": ("Korea Daily", "news", "KR", "en"),
}
KNPA = "Korean National Police Agency"


def ent(text: str, norm: str, label: str = "ORG") -> dict[str, Any]:
    return {"text": text, "label": label, "norm": norm, "start": 0, "end": len(text)}


def fig(value: float, start: int, measure: str = "police_cases_reported", unit: str = "cases",
        period: tuple[str, str] | None = ("2024-01-01", "2024-07-31"), place: str | None = "South Korea",
        ) -> dict[str, Any]:
    return {"value": value, "unit": unit, "measure": measure, "qualifier": None, "text": f"{value} {unit}",
            "start": start, "end": start + 9, "sentence": f"Police said {value} {unit}.", "place": place,
            "period": {"start": period[0], "end": period[1], "text": "the period"} if period else None,
            "attribution": "police"}


def doc(id: str, source: str, published: str | None, title: str, text: str, *, lang: str = "en",
        entities: tuple[dict[str, Any], ...] = (), topics: tuple[str, ...] = (),
        figures: tuple[dict[str, Any], ...] = (), story_id: str | None = None) -> dict[str, Any]:
    name, type_, country, language = SOURCES[source]
    out: dict[str, Any] = {
        "id": id, "url": f"http://127.0.0.1/{source}/{id}", "canonical_url": f"http://127.0.0.1/{source}/{id}",
        "source": {"id": source, "name": name, "type": type_, "country": country, "language": language},
        "title": title, "text": text, "lead": text.split(".")[0] + ".", "published_at": published,
        "modified_at": None, "crawled_at": "2024-10-01T00:00:00+00:00", "authors": ["A. Writer"],
        "language": lang, "content_hash": f"hash-{id}",
        "relevance": {"score": 2.0, "matched_terms": ["deepfake"], "topics": list(topics)},
        "entities": list(entities), "figures": list(figures),
        "signature": "AAECAwQFBgc=",  # the stories stage's MinHash (base64); stored, never exported
    }
    for label, facet in {"PERSON": "people", "ORG": "orgs", "GPE": "places"}.items():
        out[facet] = list(dict.fromkeys(e["norm"] for e in entities if e["label"] == label))
    if story_id:
        out["story_id"] = story_id
    return out


# the contract suite's corpus: English and Korean, five sources, one shared story, figures, a hostile title
CORPUS = [
    doc("d01", "hanbit-times", "2024-08-28T09:00:00+09:00", "Police count 297 deepfake cases",
        "Police said 297 deepfake sex crime cases were reported in the first seven months. "
        "Telegram rooms had 220,000 members.",
        entities=(ent("Telegram", "Telegram"), ent("police", KNPA)), topics=("policing", "platforms"),
        figures=(fig(297, 12), fig(220000, 100, "channel_members", "members", period=None)), story_id="story-297"),
    doc("d02", "asia-wire", "2024-08-29T03:00:00+00:00", "Korea reports 297 deepfake crimes this year",
        "South Korean police logged 297 deepfake sex crime cases between January and July, up from 180 in 2023.",
        entities=(ent("police", KNPA), ent("South Korea", "South Korea", "GPE")), topics=("policing",),
        figures=(fig(297, 30), fig(180, 90, period=("2023-01-01", "2023-12-31"))), story_id="story-297"),
    doc("d03", "asia-wire", "2024-08-26T10:00:00+00:00", "Telegram founder arrested",
        "Pavel Durov, who founded Telegram, was arrested in France.",
        entities=(ent("Pavel Durov", "Pavel Durov", "PERSON"), ent("Telegram", "Telegram"),
                  ent("France", "France", "GPE")), topics=("platforms",)),
    doc("d04", "hanbit-times", "2024-09-26T15:00:00+09:00", "Assembly passes possession ban",
        "Lawmakers voted to punish possession of deepfake sexual material. Telegram removed videos. "
        "Possession can bring up to three years in prison.",
        entities=(ent("National Assembly", "National Assembly"), ent("Telegram", "Telegram")),
        topics=("law", "platforms"), figures=(fig(3, 120, "max_prison_years", "years", period=None),)),
    # 00:30 on 1 September in Seoul is still 31 August in UTC: both stores filter and bucket in UTC
    doc("d05", "hanbit-times", "2024-09-01T00:30:00+09:00", "Late-night update",
        "Telegram said it would cooperate with regulators on deepfake content.",
        entities=(ent("telegram", "Telegram"),), topics=("platforms",)),
    doc("d06", "police-press", "2024-08-28T14:00:00+09:00", "딥페이크를 이용한 성범죄 집중 단속",
        "경찰청은 딥페이크 성범죄가 올해 297건 접수됐다고 밝혔다.", lang="ko",
        entities=(ent("경찰청", KNPA), ent("경찰", KNPA)), topics=("policing",),
        figures=(fig(297, 20),)),
    doc("d07", "ofcom", "2024-03-15T12:00:00+00:00", "Regulator consults on deepfake guidance",
        "Ofcom proposed that platforms detect deepfake abuse material before the general election, "
        "and fines can reach 18 million pounds.",
        entities=(ent("Ofcom", "Ofcom"),), topics=("law", "platforms"),
        figures=(fig(18_000_000, 60, "max_fine", "GBP", period=None, place="United Kingdom"),)),
    doc("d08", "hanbit-times", "2024-01-29T12:00:00+09:00", "Election commission bans deepfakes",
        "The election commission banned deepfake campaign videos.",
        entities=(ent("National Election Commission", "National Election Commission"),)),
    doc("d09", "asia-wire", "2024-09-10T08:00:00+00:00", "<script>alert(1)</script> deepfake warning",
        "A deepfake warning & advice <b>page</b>."),
    doc("d10", "helpline", None, "Helpline guide for deepfake victims",
        "Victims of deepfake abuse can call the helpline."),
]


@contextmanager
def es_store_with(es_url: str, prefix: str, docs: list[dict[str, Any]]) -> Iterator[ElasticsearchStore]:
    """An Elasticsearch store under `prefix` holding `docs` (refreshed); its indices are dropped after."""
    store = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=es_url, index_prefix=prefix))
    store.setup()
    store.upsert(docs)
    store.refresh()
    try:
        yield store
    finally:
        IndexManager(store.es, prefix).drop()
        store.close()
