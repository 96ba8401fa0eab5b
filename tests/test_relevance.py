from dfwatch.settings import load_settings
from pipelines.relevance import KeywordRule


def rule() -> KeywordRule:
    return KeywordRule(load_settings().relevance)


def test_deepfake_sex_crime_is_relevant_in_english_and_korean() -> None:
    r = rule().score("Deepfakes", "Police logged 297 deepfake pornography cases.")
    assert r.score > 0 and "deepfake" in r.matched_terms and "porn" in r.matched_terms
    k = rule().score("경찰, 딥페이크 성범죄 집중단속", "올해 1~7월 297건이 신고됐다.")
    assert k.score > 0 and "딥페이크" in k.matched_terms


def test_decoys_are_not_relevant() -> None:
    scam = rule().score("Deepfake ads lure investors", "A deepfake video of a celebrity promoted a fake fund.")
    election = rule().score("Deepfake campaign videos banned", "The election commission banned deepfakes.")
    drugs = rule().score("Drug ring busted", "Police arrested sellers who used Telegram to sell drugs.")
    assert scam.score == election.score == drugs.score == 0


def test_terms_match_word_starts_only() -> None:
    assert rule().score("", "deep-fake explicit images").score > 0
    assert rule().score("", "antideepfake sexuality").score == 0
