"""The digest's words in English and Korean: headings, counts, measures, values, periods, dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# measure -> (English, Korean); the order is the digest's order. Unnamed measures (a bare unit) are left out.
MEASURES: dict[str, tuple[str, str]] = {
    "police_cases_reported": ("police cases", "경찰 신고·발생 건수"),
    "people_investigated": ("people investigated", "수사 대상자"),
    "people_arrested": ("people arrested", "검거 인원"),
    "people_charged": ("people charged", "입건·기소 인원"),
    "victims": ("victims", "피해자"),
    "channel_members": ("chat room members", "대화방 참여자"),
    "videos": ("videos", "영상"),
    "takedown_requests": ("takedown requests", "삭제·차단 요청"),
    "max_prison_years": ("maximum prison term", "최고 징역"),
    "prison_sentence_months": ("prison sentence", "징역 형량"),
    "max_fine": ("maximum fine", "최고 벌금"),
    "damages": ("damages", "손해배상"),
    "campaign_months": ("crackdown length", "단속 기간"),
    "share": ("share", "비율"),
    "fraud_losses": ("fraud losses", "사기 피해액"),
}
UNITS: dict[str, tuple[str, str]] = {  # unit -> (English after the number, Korean after the number)
    "cases": (" cases", "건"), "people": (" people", "명"), "members": (" members", "명"),
    "years": (" years", "년"), "months": (" months", "개월"), "weeks": (" weeks", "주"), "days": (" days", "일"),
    "videos": (" videos", "개"), "images": (" images", "장"), "requests": (" requests", "건"),
    "percent": ("%", "%"), "KRW": (" won", "원"), "USD": (" US dollars", "달러"), "EUR": (" euros", "유로"),
    "GBP": (" pounds", "파운드"), "JPY": (" yen", "엔"),
}
QUALIFIERS: dict[str, tuple[str, str, str]] = {  # qualifier -> (English before, Korean before, Korean after)
    "approx": ("about ", "약 ", ""), "more_than": ("more than ", "", " 이상"), "less_than": ("less than ", "", " 미만"),
    "up_to": ("up to ", "최대 ", ""), "nearly": ("nearly ", "", " 가까이"),
}
ENTITY_LABELS = {"PERSON": ("person", "인물"), "ORG": ("organisation", "기관·단체"), "GPE": ("place", "지역")}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "heading": "dfwatch digest", "since": "New since {since}",
        "first_digest": "First digest: published since {since}",
        "new_stories": "New stories", "updates": "More coverage of earlier stories", "more": "More new stories",
        "hidden": "…and {n} more. Open the timeline to see them all.", "new_figures": "New figures",
        "changed_figures": "Changed figures", "entities": "Named for the first time",
        "chart_day": "Matching articles per day, by publication date; this digest's period in dark blue.",
        "chart_week": "Matching articles per week, by publication date; this digest's period in dark blue.",
        "chart_alt": "Bar chart of matching articles over time",
        "empty": "No new coverage for this subscription since {since}.",
        "first_reported": "first reported by {source}, {date}", "was": "was {value}", "reported_by": "reported by",
        "disagree": "Sources disagree", "view_story": "Story in dfwatch", "view_article": "in dfwatch",
        "original": "original", "timeline": "Open the timeline in dfwatch", "unsubscribe": "Unsubscribe",
        "footer": "You receive this digest because you are subscribed to “{title}” ({name}). Query: {query}",
        "first_seen": "first seen {date}",
        "subject_empty": "no new coverage", "query_all": "(everything)",
    },
    "ko": {
        "heading": "dfwatch 다이제스트", "since": "{since} 이후 새 소식",
        "first_digest": "첫 다이제스트: {since} 이후 보도",
        "new_stories": "새 소식", "updates": "이전 소식의 후속 보도", "more": "그 밖의 새 소식",
        "hidden": "…외 {n}건. 전체는 타임라인에서 볼 수 있습니다.", "new_figures": "새 수치",
        "changed_figures": "달라진 수치", "entities": "처음 등장한 이름",
        "chart_day": "일별 관련 기사 수(발행일 기준). 진한 파란색이 이번 다이제스트 기간입니다.",
        "chart_week": "주별 관련 기사 수(발행일 기준). 진한 파란색이 이번 다이제스트 기간입니다.",
        "chart_alt": "관련 기사 수 추이 막대그래프",
        "empty": "{since} 이후 이 구독의 새 보도가 없습니다.",
        "first_reported": "최초 보도: {source}, {date}", "was": "이전 {value}", "reported_by": "보도",
        "disagree": "출처마다 수치가 다름", "view_story": "dfwatch에서 보기", "view_article": "dfwatch",
        "original": "원문", "timeline": "dfwatch 타임라인 열기", "unsubscribe": "수신 거부",
        "footer": "“{title}”({name}) 구독자에게 보내는 다이제스트입니다. 검색어: {query}",
        "first_seen": "최초 보도 {date}",
        "subject_empty": "새 보도 없음", "query_all": "(전체)",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    return TEXT[lang][key].format(**values)


def count(lang: str, n: int, one: str, many: str, ko: str) -> str:
    """'1 source' / '3 sources' / '출처 3곳' style counts."""
    if lang == "ko":
        return ko.format(n=n)
    return (one if n == 1 else many).format(n=n)


def number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def value_text(lang: str, value: float, unit: str, qualifier: str | None = None) -> str:
    """'more than 220,000 members' / '22만 명 이상' style (Korean keeps digits: 220,000명 이상)."""
    en_unit, ko_unit = UNITS.get(unit, (f" {unit}", f" {unit}"))
    en_q, ko_before, ko_after = QUALIFIERS.get(qualifier or "", ("", "", ""))
    if lang == "ko":
        return f"{ko_before}{number(value)}{ko_unit}{ko_after}"
    return f"{en_q}{number(value)}{en_unit}"


def measure_text(lang: str, measure: str) -> str:
    en, ko = MEASURES.get(measure, (measure.replace("_", " "), measure))
    return ko if lang == "ko" else en[:1].upper() + en[1:]


def entity_label(lang: str, label: str | None) -> str:
    names = ENTITY_LABELS.get(label or "")
    return (names[1] if lang == "ko" else names[0]) if names else ""


def period_text(lang: str, start: str | None, end: str | None, written: str = "") -> str:
    """'Jan–Jul 2024' / '2024년 1~7월', '2023' / '2023년'; else as the article wrote it."""
    try:
        a, b = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        return written
    whole_months = a.day == 1 and (b + timedelta(days=1)).day == 1
    if not whole_months or b < a:
        return f"{day_text(lang, a)} – {day_text(lang, b)}"
    if (a.month, b.month) == (1, 12) and a.year == b.year:
        return f"{a.year}년" if lang == "ko" else str(a.year)
    if a.year == b.year:
        if lang == "ko":
            return f"{a.year}년 {a.month}월" if a.month == b.month else f"{a.year}년 {a.month}~{b.month}월"
        span = MONTHS_EN[a.month - 1] if a.month == b.month else f"{MONTHS_EN[a.month - 1]}–{MONTHS_EN[b.month - 1]}"
        return f"{span} {a.year}"
    if lang == "ko":
        return f"{a.year}년 {a.month}월~{b.year}년 {b.month}월"
    return f"{MONTHS_EN[a.month - 1]} {a.year}–{MONTHS_EN[b.month - 1]} {b.year}"


def day_text(lang: str, day: date) -> str:
    if lang == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def when_text(lang: str, moment: str | datetime | None, zone: ZoneInfo, with_time: bool = False) -> str:
    """A published date or a send time in the subscription's time zone."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(zone)
    out = day_text(lang, local.date())
    if with_time:
        out += f" {local:%H:%M} {local.tzname() or ''}".rstrip()
    return out
