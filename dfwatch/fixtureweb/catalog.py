"""Ground truth for the fixture web: every article page listed in a site feed.

``kind`` is what a correct pipeline should conclude about the page:

* ``on_topic``       - about deepfake sexual crimes; should be kept.
* ``borderline``     - mainly about something else (Telegram's founder) but ties it to the
                       Korean deepfake scandal; either decision is defensible.
* ``decoy``          - says "deepfake" or "Telegram" but is not about sexual deepfakes.
* ``robots_blocked`` - on-topic, but under a path robots.txt disallows; must not be fetched.
* ``malformed``      - truncated/garbage HTML; trafilatura.extract() returns None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FixtureArticle:
    site: str
    path: str
    kind: str
    published: str
    language: str
    title: str
    encoding: str = "utf-8"


ARTICLES: tuple[FixtureArticle, ...] = (
    FixtureArticle("hanbit-times", "/news/2024/07/18/seoul-police-bust-telegram-drug-ring.html",
                   "decoy", "2024-07-18T15:20:00+09:00", "en",
                   "Seoul police arrest suspects in drug ring that sold via Telegram"),
    FixtureArticle("hanbit-times", "/news/2024/08/26/telegram-founder-durov-arrested-in-france.html",
                   "borderline", "2024-08-26T09:10:00+09:00", "en",
                   "Telegram founder Pavel Durov arrested in France"),
    FixtureArticle("hanbit-times", "/news/2024/08/28/yoon-orders-deepfake-porn-crackdown.html",
                   "on_topic", "2024-08-28T14:30:00+09:00", "en",
                   "Yoon orders crackdown as deepfake porn 'emergency' grips South Korea"),
    FixtureArticle("hanbit-times", "/members/2024/08/subscriber-briefing.html",
                   "robots_blocked", "2024-08-30T07:00:00+09:00", "en",
                   "Subscriber briefing: what we know about South Korea's deepfake crisis"),
    FixtureArticle("hanbit-times", "/news/2024/08/30/live-updates.html",
                   "malformed", "2024-08-30T09:00:00+09:00", "en",
                   "LIVE: South Korea deepfake crisis updates"),
    FixtureArticle("hanbit-times", "/business/2024/09/12/deepfake-celebrity-investment-scam-ads.html",
                   "decoy", "2024-09-12T10:00:00+09:00", "en",
                   "Deepfake celebrity videos lure investors into fake trading schemes, police warn"),
    FixtureArticle("hanbit-times", "/news/2024/09/26/assembly-passes-deepfake-possession-bill.html",
                   "on_topic", "2024-09-26T17:45:00+09:00", "en",
                   "Assembly votes to punish possessing and viewing deepfake sexual material"),
    FixtureArticle("asia-wire", "/politics/2024/01/30/south-korea-bans-deepfake-campaign-videos/",
                   "decoy", "2024-01-30T11:00:00+08:00", "en",
                   "South Korea bans deepfake campaign videos ahead of April election"),
    FixtureArticle("asia-wire", "/asia/2024/05/22/seoul-university-deepfake-telegram-case/",
                   "on_topic", "2024-05-22T16:00:00+08:00", "en",
                   "Deepfake abuse case at top Seoul university shocks South Korea"),
    FixtureArticle("asia-wire", "/asia/2024/08/29/south-korea-yoon-deepfake-sex-crimes/",
                   "on_topic", "2024-08-29T12:15:00+08:00", "en",
                   "South Korea's Yoon calls for action as deepfake sex crimes surge"),
    FixtureArticle("asia-wire", "/asia/2024/09/27/korea-deepfake-law-telegram-reputation/",
                   "on_topic", "2024-09-27T09:30:00+08:00", "en",
                   "Seoul tightens deepfake laws as Telegram's image in Korea takes another hit"),
    FixtureArticle("police-press", "/press/view/2024082801.html",
                   "on_topic", "2024-08-28T10:00:00+09:00", "ko",
                   "경찰청, 딥페이크 성범죄 7개월간 특별 집중단속 착수", encoding="euc-kr"),
    FixtureArticle("police-press", "/press/view/2024082802.html",
                   "on_topic", "2024-08-28T10:00:00+09:00", "en",
                   "Police launch seven-month special crackdown on deepfake sex crimes"),
    FixtureArticle("police-press", "/press/view/2024090501.html",
                   "on_topic", "2024-09-05T09:00:00+09:00", "ko",
                   "경찰청·방심위, 딥페이크 성범죄물 신속 삭제·차단 협력 강화"),
    FixtureArticle("police-press", "/press/view/2024092701.html",
                   "on_topic", "2024-09-27T10:00:00+09:00", "en",
                   "Police to enforce new penalties for possessing or viewing deepfake sexual material"),
)


# PLANTED: the Durov article misprints the police count for January-July 2024 as 279 (the
# other reports, including the police release, say 297), so the figure series for
# police_cases_reported in South Korea has a conflict to flag. Nothing else here is invented.
PLANTED_CONFLICT = {
    "site": "hanbit-times", "path": "/news/2024/08/26/telegram-founder-durov-arrested-in-france.html",
    "measure": "police_cases_reported", "place": "South Korea", "period": ("2024-01-01", "2024-07-31"),
    "value": 279, "reported_elsewhere": 297,
}


def articles(site: str | None = None, kind: str | None = None) -> list[FixtureArticle]:
    """Articles filtered by site id and/or kind."""
    return [a for a in ARTICLES
            if (site is None or a.site == site) and (kind is None or a.kind == kind)]
