import pytest

from nlp.relevance import RelevanceScorer


@pytest.fixture(scope="module")
def scorer() -> RelevanceScorer:
    return RelevanceScorer.load(1, threshold=2.5)


def test_deepfake_sex_crime_is_relevant_in_english_and_korean(scorer: RelevanceScorer) -> None:
    j = scorer.judge("Police logged 297 deepfake pornography cases.")
    assert j.relevant and j.evidence["synthetic"] == ["deepfake"] and "pornography" in j.evidence["sexual"]
    assert "enforcement" in j.topics and "statistics" in j.topics
    k = scorer.judge("경찰, 딥페이크 성범죄 집중단속. 올해 1~7월 297건이 신고됐다.")
    assert k.relevant and "딥페이크" in k.evidence["synthetic"]


def test_domain_actors_count_without_the_word_deepfake(scorer: RelevanceScorer) -> None:
    assert scorer.judge("The Korea Communications Standards Commission plans to meet on combating the issue.").relevant


def test_near_misses_score_low(scorer: RelevanceScorer) -> None:
    for text in (
        "A deepfake video of a celebrity promoted a fake investment fund; investors lost money to the scam.",
        "The election commission banned deepfake campaign videos of candidates.",
        "Police arrested sellers who used Telegram to sell drugs.",
        "The studio used face-swap tools to de-age the actors in the film.",
        "딥페이크 영상으로 투자자를 속인 사기 일당이 붙잡혔다.",
    ):
        assert not scorer.judge(text).relevant, text


def test_threshold_is_configurable() -> None:
    text = "Perpetrators used manipulated images."
    assert RelevanceScorer.load(1, threshold=2.5).judge(text).relevant
    assert not RelevanceScorer.load(1, threshold=10).judge(text).relevant
