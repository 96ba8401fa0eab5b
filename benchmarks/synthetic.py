"""A deterministic synthetic news corpus for benchmarks: article documents in the stored shape.

    python -m benchmarks.synthetic --docs 1000 [--seed 7] [--out corpus.jsonl] [--stats]

`articles(n, seed)` streams documents shaped like `Article.to_doc()`, with their `story_id`
(and `text_ko` for Korean ones, so the store need not run Kiwi): about 60 % English and 40 %
Korean, about 30 % on topic (deepfake sexual crime: police figures, laws, Telegram,
schools, victims), the rest ordinary news (economy, politics, sports, weather, ...) and a
few deepfake scam/election/film stories that a keyword search also finds. Sizes follow a
lognormal with a median of ~500 words and a tail to 3,000; dates spread over 2019–2026 with
bursts (Aug–Sep 2024 above all); 40 invented sources of four types in eight countries and the EU.
On-topic articles carry figures (police_cases_reported, people_charged, channel_members,
max_prison_years, with periods and places; a few report a conflicting value) and their
sentences, entities and relevance topics. A fifth of the articles rewrite an earlier one
(same event, another outlet, up to three days later): they share its `story_id`.

Document i depends only on (seed, i), so a 10k corpus is the first 10k of the 100k one, and
any slice can be generated alone. Text comes from the sentence templates and word pools of
synthetic.yaml, each template rendered into a fixed set of variants once (Korean ones
stemmed with Kiwi once; synthetic_text.py), so a document costs lookups, not rendering.

For the crawl benchmarks (issue 8), benchmarks/synthetic_web.py renders the same documents
as a news web (pages, RSS feeds, sitemaps) to serve on loopback.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from typing import Any

from benchmarks.synthetic_facts import FACTS, pick
from benchmarks.synthetic_text import FIGURE_TEMPLATES, Group, data, fact_piece, groups, pools, sections

FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2026, 10, 31)
ON_TOPIC_SHARE = {"news": 0.25, "government": 0.45, "ngo": 0.6, "court": 0.5}  # ~30 % overall
REWRITE_SHARE = 0.2  # articles that rewrite an earlier story
NEGATIVE_SHARE = 0.05  # off-topic articles about deepfake scams, election videos, film effects
TZ = {"KR": 9, "JP": 9, "SG": 8, "AU": 10, "GB": 0, "FR": 1, "ES": 1, "EU": 1, "US": -5}
TOPIC_WEIGHTS = {"enforcement": 5, "law": 3, "platforms": 3, "victims": 2, "statistics": 1, "education": 2}
MATCHED = {"en": ["deepfake", "sexual", "police", "telegram", "victims", "law", "schools"],
           "ko": ["딥페이크", "성범죄", "경찰", "텔레그램", "피해", "처벌", "교육"]}
# bursts of on-topic coverage: (first day, last day, intensity multiplier)
BURSTS = [(date(2020, 3, 20), date(2020, 4, 20), 2.5), (date(2024, 1, 25), date(2024, 2, 10), 4.0),
          (date(2024, 5, 20), date(2024, 6, 5), 5.0), (date(2024, 8, 20), date(2024, 9, 30), 12.0),
          (date(2024, 10, 1), date(2024, 10, 31), 4.0), (date(2025, 4, 25), date(2025, 5, 25), 4.0)]
ON_YEAR = {2019: 0.15, 2020: 0.25, 2021: 0.3, 2022: 0.35, 2023: 0.5, 2024: 0.9, 2025: 1.0, 2026: 0.9}
LEAD_END = re.compile(r"(?<=[.!?\"])\s")

Item = tuple[Any, ...]  # (Group, piece index) or (None, fact index, template, conflicting?)


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    type: str
    country: str
    language: str
    weight: float

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "type": self.type, "country": self.country,
                "language": self.language}


@lru_cache(maxsize=1)
def sources() -> tuple[Source, ...]:
    return tuple(Source(*row) for row in data()["sources"])


# ------------------------------------------------------------------ dates
@lru_cache(maxsize=1)
def _day_weights() -> tuple[list[float], list[float]]:
    """Cumulative per-day weights of publication dates: (on topic, off topic)."""
    on, off = [], []
    for k in range((LAST_DAY - FIRST_DAY).days + 1):
        d = FIRST_DAY + timedelta(days=k)
        burst = max((mult for a, b, mult in BURSTS if a <= d <= b), default=1.0)
        weekday = 0.6 if d.weekday() >= 5 else 1.0
        on.append(ON_YEAR[d.year] * burst * weekday)
        off.append((1 + 0.08 * (d.year - 2019)) * weekday)
    return list(accumulate(on)), list(accumulate(off))


def _published(rnd: random.Random, on_topic: bool, country: str) -> datetime:
    cum = _day_weights()[0 if on_topic else 1]
    k = bisect.bisect_left(cum, rnd.random() * cum[-1])
    tz = timezone(timedelta(hours=TZ.get(country, 0)))
    return datetime(FIRST_DAY.year, 1, 1, tzinfo=tz) + timedelta(days=k, minutes=rnd.randrange(6 * 60, 23 * 60))


# ------------------------------------------------------------------ plans
@dataclass(frozen=True)
class Plan:
    """What an article says, before rendering; a rewrite copies its story's plan and changes it."""

    origin: int  # the story's first article
    source: Source
    on_topic: bool
    topics: tuple[str, ...]
    published: datetime
    title: Item
    body: tuple[Item, ...]


def _rng(seed: int, i: int) -> random.Random:
    return random.Random(seed * 1_000_003 + i)  # noqa: S311 - test data, not security


def _pick(rnd: random.Random, group: Group) -> Item:
    return group, int(rnd.random() * group.size)


def _source(rnd: random.Random, pool: tuple[Source, ...]) -> Source:
    return rnd.choices(pool, weights=[s.weight for s in pool])[0]


def origin(i: int, seed: int) -> int:
    """The first article of i's story: i itself, unless i rewrites an article a little before it."""
    while i > 0:
        rnd = _rng(seed, i)
        if rnd.random() >= REWRITE_SHARE:
            return i
        i = max(0, i - 1 - int(rnd.random() * 40))
    return 0


def _new_story(j: int, rnd: random.Random) -> Plan:
    """The plan of a story's first article, from its random stream (after the rewrite draw)."""
    src = _source(rnd, sources())
    lang = src.language
    g = groups()
    on_topic = rnd.random() < ON_TOPIC_SHARE[src.type]
    if on_topic:
        names, weights = zip(*TOPIC_WEIGHTS.items(), strict=True)
        main = rnd.choices(names, weights=weights)[0]
        mix = [g[lang, f"topical:{main}"]] * 5 + [g[lang, f"topical:{t}"] for t in names] + [g[lang, "generic"]] * 3
        title_group = g[lang, "titles_on"]
    elif rnd.random() < NEGATIVE_SHARE:
        mix = [g[lang, "negative"]] * 2 + sections(lang)[:3] + [g[lang, "generic"]]
        title_group = g[lang, "titles_negative"]
    else:
        section = rnd.choice(sections(lang))
        mix = [section] * 6 + [g[lang, "generic"]] * 2
        title_group = g[lang, "titles_" + section.name]
    published = _published(rnd, on_topic, src.country)
    target = min(3000, max(80, int(rnd.lognormvariate(math.log(500), 0.6))))
    body: list[Item] = []
    seen: set[Item] = set()
    words = 0
    while words < target:
        group = mix[0] if not body else mix[int(rnd.random() * len(mix))]  # the lead is on the subject
        item = _pick(rnd, group)
        if item in seen:  # no sentence twice in one article (one retry is enough to make it rare)
            item = _pick(rnd, group)
        seen.add(item)
        body.append(item)
        words += (group.pieces[item[1]] or group.piece(item[1])).words
    topics: set[str] = set()
    if on_topic:
        topics = {it[0].name.split(":", 1)[1] for it in body if it[0].name.startswith("topical:")}
        day = published.date()
        if pick(day, 0.0) is not None and rnd.random() < 0.65:
            for _ in range(rnd.choice((1, 1, 2, 2, 3))):
                fact = pick(day, rnd.random())
                conflicting = FACTS[fact].alt is not None and rnd.random() < 0.12  # type: ignore[index]
                body.insert(1 + int(rnd.random() * min(len(body), 4)),
                            (None, fact, int(rnd.random() * FIGURE_TEMPLATES), conflicting))
            topics.add("statistics")
    return Plan(j, src, on_topic, tuple(sorted(topics)), published, _pick(rnd, title_group), tuple(body))


_STORIES: OrderedDict[tuple[int, int], Plan] = OrderedDict()  # recent first articles, for their rewrites


def _story(j: int, seed: int) -> Plan:
    got = _STORIES.get((seed, j))
    if got is None:
        rnd = _rng(seed, j)
        rnd.random()  # the rewrite draw (see origin)
        got = _remember(seed, _new_story(j, rnd))
    return got


def _remember(seed: int, p: Plan) -> Plan:
    _STORIES[seed, p.origin] = p
    if len(_STORIES) > 512:  # rewrites look back a few hundred articles at most
        _STORIES.popitem(last=False)
    return p


def _rewrite(lead: Plan, rnd: random.Random) -> Plan:
    """Another outlet's version of a story (same language), minutes to three days later."""
    lang = lead.source.language
    pool = tuple(s for s in sources() if s.language == lang and s.id != lead.source.id)
    body: list[Item] = []
    for item in lead.body:
        roll = rnd.random()
        if item[0] is None:  # figures stay, a few with the conflicting value
            alt = FACTS[item[1]].alt is not None and rnd.random() < 0.12
            body.append((None, item[1], int(rnd.random() * FIGURE_TEMPLATES), alt))
        elif roll < 0.12:
            continue
        elif roll < 0.22:
            body.append(_pick(rnd, item[0]))
        else:
            body.append(item)
    if rnd.random() < 0.3:
        body = body[:max(3, int(len(body) * rnd.uniform(0.5, 0.9)))]
    title = lead.title if rnd.random() < 0.4 else _pick(rnd, lead.title[0])
    published = lead.published + timedelta(minutes=rnd.randrange(30, 72 * 60))
    return Plan(lead.origin, _source(rnd, pool), lead.on_topic, lead.topics, published, title, tuple(body))


def plan(i: int, seed: int = 7) -> tuple[Plan, random.Random]:
    """Article i's plan, and its random stream for the rest of the document."""
    rnd = _rng(seed, i)
    if rnd.random() < REWRITE_SHARE and i > 0:
        first = origin(max(0, i - 1 - int(rnd.random() * 40)), seed)
        return _rewrite(_story(first, seed), rnd), rnd
    return _remember(seed, _new_story(i, rnd)), rnd


# ------------------------------------------------------------------ documents
def url_of(i: int, p: Plan) -> str:
    return f"https://www.{p.source.id}.example/news/{p.published:%Y/%m/%d}/{i:07d}.html"


def doc_id(url: str) -> str:
    """sha1 of the URL (already canonical), as dfwatch.urls.article_id computes it."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()  # noqa: S324 (id, not security)


def _content_hash(text: str) -> str:
    """dfwatch.records.content_hash for this corpus's text (single spaces, "\n" between paragraphs), faster."""
    return hashlib.sha256(text.replace("\n", " ").encode("utf-8")).hexdigest()


def article(i: int, seed: int = 7) -> dict[str, Any]:
    """Document i of the corpus, in the stored shape (Article.to_doc() plus story_id, text_ko)."""
    p, rnd = plan(i, seed)
    lang = p.source.language
    title = p.title[0].piece(p.title[1])
    texts: list[str] = []
    entities: list[dict[str, Any]] = []
    figures: list[dict[str, Any]] = []
    stem_parts = [title.stems]
    facets: dict[str, dict[str, None]] = {"PERSON": {}, "ORG": {}, "GPE": {}}
    pos = 0
    for item in p.body:
        if item[0] is None:
            sentence, fig = fact_piece(lang, item[1], item[2], item[3])
            figures.append({**fig, "start": fig["start"] + pos, "end": fig["end"] + pos})
        else:
            sentence = item[0].piece(item[1])
        for s, e, text, label, norm in sentence.ents:
            entities.append({"text": text, "label": label, "norm": norm, "start": s + pos, "end": e + pos})
            facets[label][norm] = None
        stem_parts.append(sentence.stems)
        texts.append(sentence.text)
        pos += len(sentence.text) + 1
    # paragraphs of three sentences (the separator, "\n" or " ", is one character either way)
    text = "\n".join(" ".join(texts[k:k + 3]) for k in range(0, len(texts), 3))
    url = url_of(i, p)
    published = p.published
    crawled = (published + timedelta(hours=rnd.randrange(1, 30))).astimezone(UTC)
    modified = published + timedelta(hours=rnd.randrange(1, 12)) if rnd.random() < 0.15 else None
    first_line = text.split("\n", 1)[0]
    lead_end = LEAD_END.search(first_line)
    story = i if p.origin == i else p.origin
    doc: dict[str, Any] = {
        "id": doc_id(url), "url": url, "canonical_url": url, "source": p.source.ref(),
        "title": title.text, "text": text, "lead": first_line[:lead_end.start()] if lead_end else first_line,
        "published_at": published.isoformat(), "modified_at": modified.isoformat() if modified else None,
        "crawled_at": crawled.isoformat(),
        "authors": [rnd.choice(pools()["reporter_" + lang]).text] if p.source.type == "news" else [],
        "language": lang, "content_hash": _content_hash(text),
        "relevance": {"score": round(rnd.uniform(5.0, 9.5), 1) if p.on_topic else rnd.choice((0.0, 1.0)),
                      "matched_terms": rnd.sample(MATCHED[lang], 3) if p.on_topic else [],
                      "topics": list(p.topics)},
        "entities": entities, "figures": figures,
        "people": list(facets["PERSON"]), "orgs": list(facets["ORG"]), "places": list(facets["GPE"]),
        "story_id": doc_id(url_of(story, _story(story, seed))) if story != i else doc_id(url),
        "signature": None,  # articles(signatures=True) computes it
    }
    if lang == "ko":
        doc["text_ko"] = " ".join(s for s in stem_parts if s)
    return doc


def articles(n: int, seed: int = 7, start: int = 0, signatures: bool = False) -> Iterator[dict[str, Any]]:
    """Documents start .. start+n-1, one at a time: the corpus is never held in memory.

    `signatures` adds the stories stage's MinHash `signature` (dfwatch.stories; ~1 ms a document)."""
    if signatures:
        from dfwatch.stories import encode_signature, features
    for i in range(start, start + n):
        doc = article(i, seed)
        if signatures:
            doc["signature"] = encode_signature(features(doc).signature)
        yield doc


# ------------------------------------------------------------------ CLI
def stats(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Shape of a corpus: sizes, languages, on-topic share, figures, stories, years."""
    n = on = with_figures = conflicts = 0
    langs: Counter[str] = Counter()
    stories: Counter[str] = Counter()
    years: Counter[str] = Counter()
    types: Counter[str] = Counter()
    values: dict[tuple[Any, ...], set[float]] = {}
    sizes = []
    for d in docs:
        n += 1
        sizes.append(d["text"].count(" ") + d["text"].count("\n") + 1)
        langs[d["language"]] += 1
        types[d["source"]["type"]] += 1
        on += bool(d["relevance"]["topics"])
        with_figures += bool(d["figures"])
        stories[d["story_id"]] += 1
        years[d["published_at"][:4]] += 1
        for f in d["figures"]:
            period = (f["period"] or {}).get("start")
            values.setdefault((f["measure"], f["place"], period), set()).add(f["value"])
    conflicts = sum(1 for v in values.values() if len(v) > 1)
    sizes.sort()
    return {"docs": n, "words_median": sizes[n // 2], "words_p99": sizes[int(n * 0.99)], "words_max": sizes[-1],
            "language": dict(langs), "source_type": dict(types), "on_topic": round(on / n, 3),
            "with_figures": round(with_figures / n, 3), "figure_series_points": len(values),
            "conflicting_points": conflicts, "stories": len(stories),
            "singleton_stories": sum(1 for c in stories.values() if c == 1), "biggest_story": max(stories.values()),
            "years": dict(sorted(years.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="write JSONL here (default: stdout)")
    parser.add_argument("--stats", action="store_true", help="print corpus statistics instead of documents")
    parser.add_argument("--signatures", action="store_true", help="add MinHash signatures (slower)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    docs = articles(args.docs, args.seed, signatures=args.signatures)
    if args.stats:
        report = stats(docs)
        report["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    for d in docs:
        out.write(json.dumps(d, ensure_ascii=False) + "\n")
    if args.out:
        out.close()


if __name__ == "__main__":
    main()
