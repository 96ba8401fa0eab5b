"""Article documents in the stored shape, for the store contract suite and the API tests."""

from __future__ import annotations

from typing import Any

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
