"""What a figure counts (its measure), whether it has a period, and who said it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlp.figures import Figure

# (measure, unit it applies to or None for any, context pattern in the figure's sentence)
EN_MEASURES: list[tuple[str, str | None, str]] = [
    ("max_prison_years", "years", r"prison|jail|imprison|sentence"),
    ("prison_sentence_months", "months", r"prison|jail|sentenced"),
    ("campaign_months", "months", r"campaign|crackdown|operation"),
    ("max_fine", None, r"\bfines?\b"),
    ("damages", None, r"damages|compensation"),
    ("fraud_losses", None, r"wired|stole|swindled|fraud|scam|losses"),
    ("channel_members", "members", r""),
    ("channel_members", "people", r"chat ?rooms?|channels?|group chats?|telegram rooms?"),
    ("takedown_requests", None, r"deletion|take ?down|removal|blocking|correction requests?|requested .*(?:delet|remov|block)"),
    ("people_charged", "people", r"charged|indicted|prosecuted|booked|referred to prosecutors"),
    ("people_arrested", "people", r"arrest|detained|apprehended|caught"),
    ("victims", "people", r"victim"),
    ("people_investigated", "people", r"investigat|suspects?"),
    ("police_cases_reported", "cases", r"police|reported|documented|recorded|filed|investigat"),
    ("videos", "videos", r""),
    ("share", "percent", r""),
]
KO_MEASURES: list[tuple[str, str | None, str]] = [
    ("max_prison_years", "years", r"징역|금고|실형"),
    ("campaign_months", "months", r"단속|캠페인|특별|집중"),
    ("max_fine", "KRW", r"벌금"),
    ("takedown_requests", None, r"삭제|차단|시정\s*요구"),
    ("channel_members", "people", r"텔레그램|대화방|채팅방|방에|참여자|가입자|회원"),
    ("people_charged", "people", r"입건|기소|송치"),
    ("people_arrested", "people", r"검거|체포|구속"),
    ("victims", "people", r"피해자|피해"),
    ("police_cases_reported", "cases", r"신고|발생|접수|수사|경찰"),
    ("share", "percent", r""),
]
UNDATED = {"max_prison_years", "max_fine", "channel_members", "campaign_months", "prison_sentence_months",
           "fraud_losses", "damages"}


def measure_of(fig: Figure, lang: str) -> str:
    """Normalised name of what `fig` counts, from its unit and its sentence."""
    window = _window(fig)
    for measure, unit, pattern in (KO_MEASURES if lang == "ko" else EN_MEASURES):
        if unit is not None and unit != fig.unit:
            continue
        if unit is None and fig.unit not in ("KRW", "USD", "EUR", "GBP", "JPY", "requests", "cases", "videos", "images"):
            if measure in ("max_fine", "damages", "fraud_losses"):
                continue
        if not pattern or re.search(pattern, window, re.IGNORECASE):
            return measure
    return fig.unit


def _window(fig: Figure) -> str:
    """The figure's sentence, weighted to its clause: ±80 characters around it."""
    at = fig.sentence.find(fig.text)
    if at < 0:
        return fig.sentence
    return fig.sentence[max(0, at - 80): at + len(fig.text) + 80]


def takes_period(measure: str, unit: str) -> bool:
    """Counts happen in a period; penalties, channel sizes and durations do not."""
    return measure not in UNDATED and unit not in ("years", "months", "weeks", "days")


EN_ATTRIBUTION = [
    re.compile(r"\baccording to (?:the )?(?P<who>(?:[A-Z][\w'’.-]*|of|for|and|the|on)(?:\s+(?:[A-Z][\w'’.-]*|of|for|and|the|on))*)"),
    re.compile(r"(?:^|[,.;]\s*|\"\s*)(?P<who>(?:the )?[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|of|for|and))*)\s+(?:said|says|reported|announced|revealed|told)\b"),
    re.compile(r"\b(?:said|says|reported|announced) (?:the )?(?P<who>[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|of|for|and))*)"),
    re.compile(r"\b(?:data|figures|statistics) (?:gathered |released |compiled )?(?:by|from) (?P<who>(?:local |the )?[a-z]*\s?police|[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)"),
    re.compile(r"\baccording to (?P<who>(?:South Korean |local )?police)\b", re.I),
]
KO_ATTRIBUTION = [
    re.compile(r"(?P<who>[가-힣A-Za-z·]+?)(?:에|의)\s*따르면"),
    re.compile(r"(?P<who>[가-힣A-Za-z·]+?)(?:은|는|이|가)\s.*(?:밝혔다|발표했다|집계했다|전했다)"),
]


def attribution(sentence: str, text: str, lang: str) -> str | None:
    """Who the figure is attributed to: in its sentence, else anywhere in the passage."""
    patterns = KO_ATTRIBUTION if lang == "ko" else EN_ATTRIBUTION
    for scope in (sentence, text):
        for pattern in patterns:
            m = pattern.search(scope)
            if m:
                return m.group("who").strip(" ,.")
    return None
