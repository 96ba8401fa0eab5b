"""The figure ledger on the phrasings the issue names, in English and Korean."""

from __future__ import annotations

from datetime import date

import pytest

from nlp.figures import extract_figures
from nlp.numbers import parse_en, parse_ko

PUB = date(2024, 8, 28)


def figs(text: str, lang: str = "en", pub: date = PUB) -> list[tuple]:
    return [(f.value, f.unit, f.qualifier, f._period_iso) for f in extract_figures(text, pub, lang)]


@pytest.mark.parametrize(("text", "value"), [("220,000", 220000), ("five", 5), ("twenty-one", 21), ("1.5", 1.5)])
def test_english_numbers(text: str, value: float) -> None:
    assert parse_en(text) == value
    assert parse_en("50", "million") == 50_000_000 and parse_en("1.5", "billion") == 1_500_000_000


@pytest.mark.parametrize(("text", "value"), [("22만", 220_000), ("5천만", 50_000_000), ("3,000만", 30_000_000),
                                             ("1억 5천만", 150_000_000), ("297", 297), ("2.5억", 250_000_000)])
def test_korean_numbers(text: str, value: float) -> None:
    assert parse_ko(text) == value


def test_counts_with_periods_resolved_against_publication() -> None:
    text = ("Police said 297 cases of deepfake sex crimes were reported in the first seven months of the year, "
            "up from 180 cases last year. Of those charged, 113 are teenagers.")
    assert figs(text) == [
        (297, "cases", None, "2024-01-01/2024-07-31"),
        (180, "cases", None, "2023-01-01/2023-12-31"),
        (113, "people", None, "2024-01-01/2024-07-31"),  # inherits the passage's period
    ]
    f = extract_figures(text, PUB, "en")
    assert [x.measure for x in f] == ["police_cases_reported", "police_cases_reported", "people_charged"]
    assert f[0].attribution == "Police" and f[0].sentence.startswith("Police said 297")
    assert text[f[0].start:f[0].end] == f[0].text


def test_penalties_money_and_conversions_share_the_ceiling() -> None:
    text = "Offenders face up to five years in prison or a fine of 50 million won ($37,500)."
    assert figs(text) == [(5, "years", "up_to", None), (50_000_000, "KRW", "up_to", None), (37_500, "USD", "up_to", None)]
    assert [f.measure for f in extract_figures(text, PUB)] == ["max_prison_years", "max_fine", "max_fine"]


def test_qualifiers_and_scales() -> None:
    assert figs("a chatroom with about 220,000 members")[0][:3] == (220_000, "members", "approx")
    assert figs("more than 1.5 billion won in damages")[0][:3] == (1_500_000_000, "KRW", "more_than")
    assert figs("fewer than 40 suspects")[0][:3] == (40, "people", "less_than")
    assert figs("nearly 800 victims sought help")[0][:3] == (800, "people", "nearly")
    assert figs("as many as 3,000 videos")[0][:3] == (3000, "videos", "up_to")
    assert figs("The share rose to 75 percent.")[0][:2] == (75, "percent")


def test_campaign_duration_gets_the_campaign_period() -> None:
    assert figs("a seven-month campaign beginning this August") == [(7, "months", None, "2024-08-01/2025-02-28")]


def test_not_figures_dates_ages_ordinals_articles() -> None:
    text = ("On August 28, 2024, a 16-year-old student aged 15 was the second suspect under Article 14 "
            "of the act passed in 2020; the 3rd hearing is at 10 a.m.")
    assert figs(text) == []
    assert figs("the first seven months of the year") == []  # a period, not a figure


def test_korean_counters_units_and_qualifiers() -> None:
    text = ("경찰청에 따르면 올해 1~7월 딥페이크 성범죄는 297건으로 지난해 180건보다 늘었다. "
            "텔레그램 방에는 약 22만 명이 참여했다. 징역 5년 또는 벌금 5천만 원 이하에 처한다.")
    got = extract_figures(text, PUB, "ko")
    assert [(f.value, f.unit, f.qualifier, f._period_iso) for f in got] == [
        (297, "cases", None, "2024-01-01/2024-07-31"),
        (180, "cases", None, "2023-01-01/2023-12-31"),
        (220_000, "people", "approx", None),
        (5, "years", None, None),
        (50_000_000, "KRW", "up_to", None),
    ]
    assert [f.measure for f in got] == ["police_cases_reported", "police_cases_reported", "channel_members",
                                       "max_prison_years", "max_fine"]
    assert got[0].attribution == "경찰청"


def test_korean_dates_ages_and_ordinals_are_not_figures() -> None:
    assert figs("2024년 8월 28일 10대 피의자와 만 16세 학생이 제22회 회의에 나왔다.", "ko") == []
    assert figs("3,000만원의 벌금", "ko")[0][:2] == (30_000_000, "KRW")
