"""Named entities: PERSON, ORG, GPE (and LAW from the gazetteer), with canonical names.

English: spaCy's NER with the gazetteer's EntityRuler before it, and the model's
systematic errors fixed (platforms tagged PRODUCT, 'the' swallowed into names).
Korean: gazetteer aliases, then kiwipiepy proper nouns typed by the words around them.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span

from dfwatch.records import Entity
from nlp.gazetteer import Gazetteer, load_gazetteer
from nlp.kiwi import kiwi

KEEP_LABELS = frozenset({"PERSON", "ORG", "GPE", "LAW"})
SCORED_LABELS = frozenset({"PERSON", "ORG", "GPE"})  # what evaluation compares
PLATFORMS = frozenset({"telegram", "instagram", "facebook", "twitter", "youtube", "tiktok", "discord",
                       "kakaotalk", "naver", "snapchat", "whatsapp", "reddit", "x"})
# The model's PERSON/GPE guesses that are never people or places in this domain
NOT_ENTITIES = frozenset({"deepfake", "deepfakes", "nth room", "nth", "molka", "ai", "education", "police"})
INSTITUTION = re.compile(r"(?:\s+(?:[A-Z][a-z]+|of|for|and|&))*?\s+(?:District Court|High Court|Supreme Court|Court|"
                         r"Prosecutors' Office|Police Agency|Police|University|Foundation|Helpline|Commission|"
                         r"Ministry|Agency|Office|Center|Centre|Institute|Council|Association|Union)\b")
LEADING_THE = re.compile(r"^the\s+", re.I)
KEEPS_THE = ("The Guardian", "The Korea Herald", "The Korea Times", "The Hankyoreh", "The New York Times",
             "The Washington Post", "The Times", "The Economist")


def english_entities(doc: Doc, gazetteer: Gazetteer | None = None) -> list[Entity]:
    gaz = gazetteer or load_gazetteer()
    index = gaz.alias_index()
    whole = doc.text  # Doc.text joins every token on each access: read it once
    out: list[Entity] = []
    for ent in doc.ents:
        label = ent.label_
        text, start = ent.text.strip(), ent.start_char
        if text.lower() in PLATFORMS:
            label = "ORG"
        if label not in KEEP_LABELS or text.lower() in NOT_ENTITIES:
            continue
        if label == "GPE" and not ent.ent_id_:  # "Seoul Central District Court" is an institution
            grown = INSTITUTION.match(whole, ent.end_char)
            if grown:
                text, label = whole[ent.start_char:grown.end()], "ORG"
        if label == "ORG" and not ent.ent_id_ and (len(text) <= 2 or (_sentence_initial(whole, ent) and " " not in text
                                                                      and not text.isupper())):
            continue  # 'IP', sentence-initial 'Education officials said'
        if any(e.start <= ent.start_char < e.end for e in out):
            continue
        if LEADING_THE.match(text) and not (text.startswith(KEEPS_THE) and not _sentence_initial(whole, ent)):
            cut = len(LEADING_THE.match(text).group(0))  # type: ignore[union-attr]
            text, start = text[cut:], start + cut
        text = re.sub(r"['’]s$", "", text)
        entry = index.get(ent.ent_id_) if ent.ent_id_ else None
        norm = ent.ent_id_ or (index[text].name if text in index else normalise(text))
        out.append(Entity(text=text, label=entry.label if entry else label, norm=norm,
                          start=start, end=start + len(text)))
    return out


def _sentence_initial(text: str, ent: Span) -> bool:
    before = text[:ent.start_char].rstrip()
    return not before or before[-1] in ".!?\"“"


def normalise(name: str) -> str:
    """Folded display form: whitespace collapsed, leading 'the' and possessive dropped."""
    name = " ".join(name.split())
    name = LEADING_THE.sub("", name)
    return re.sub(r"['’]s$", "", name)


# ------------------------------------------------------------------ Korean
TITLES_PERSON = ("대통령", "장관", "청장", "의원", "위원장", "대표", "교수", "씨", "총리", "차관", "변호사", "검사",
                 "판사", "회장", "국장", "과장", "경감", "경위", "경정", "총경", "원장", "소장", "센터장", "대변인")
ORG_SUFFIXES = ("청", "부", "처", "원", "회", "위원회", "경찰서", "법원", "검찰", "검찰청", "센터", "협회", "재단", "연구소",
                "대학교", "대학", "학교", "공사", "재판부", "지검", "지법", "위", "당", "노동조합", "조합", "연대", "연합")
GPE_SUFFIXES = ("시", "도", "군", "구", "국")


def korean_entities(text: str, gazetteer: Gazetteer | None = None) -> list[Entity]:
    gaz = gazetteer or load_gazetteer()
    found = [Entity(text=text[s:e], label=entry.label, norm=entry.name, start=s, end=e)
             for s, e, entry in gaz.find_korean(text)]
    taken = [(e.start, e.end) for e in found]
    tokens = kiwi().tokenize(text)
    for i, tok in enumerate(tokens):
        if tok.tag != "NNP" or len(tok.form) < 2:
            continue
        s, e = tok.start, tok.start + tok.len
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.start == e and nxt.tag.startswith("NN") and nxt.form.endswith(ORG_SUFFIXES):
            e = nxt.start + nxt.len  # 부산 + 경찰청 → 부산경찰청
            label: str | None = "ORG"
        else:
            label = _korean_label(tok.form, nxt.form if nxt is not None else "")
        if label is None:
            continue
        if any(ts < e and s < te for ts, te in taken):
            found = [f for f in found if not (s <= f.start and f.end <= e and f.end - f.start < e - s)]
            taken = [(f.start, f.end) for f in found]
            if any(ts < e and s < te for ts, te in taken):
                continue
        found.append(Entity(text=text[s:e], label=label, norm=text[s:e], start=s, end=e))
        taken.append((s, e))
    return sorted(found, key=lambda x: x.start)


def _korean_label(form: str, next_form: str) -> str | None:
    if next_form.startswith(TITLES_PERSON) and 2 <= len(form) <= 4:
        return "PERSON"
    if form.endswith(ORG_SUFFIXES):
        return "ORG"
    if form.endswith(GPE_SUFFIXES) and len(form) >= 2:
        return "GPE"
    return None
