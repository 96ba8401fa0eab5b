"""What the story rule compares: an article's MinHash signature and the facts a rewrite keeps.

The signature is a datasketch MinHash (128 permutations) of the set of the article's
content words: title and text, case-folded, stop words dropped, English words lightly
stemmed, numbers without separators (220,000 → 220000), Korean words as their pairs of
syllables (딥페이크를 and 딥페이크 share 딥페, 페이, 이크; Kiwi stems would cost ~10 ms an
article). Single words rather than n-grams, because a rewrite keeps a report's words but
not their order: the two outlets' reports of Yoon's order share no run of three content
words, yet a fifth of their vocabulary. Copies are told by their sentences instead, kept
exactly (a crc32 each). Computing all this costs about 1 ms for a 3,000-character article.
"""

from __future__ import annotations

import base64
import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash

from nlp.entities import PLATFORMS

NUM_PERM = 128
LEAD_CHARS = 300  # the report's "who" is named in its title or its first sentences
ACTOR_LABELS = frozenset({"PERSON", "ORG"})
ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE"})

HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")
NOT_WORD = re.compile(r"[^\w\n]+|_+")
MIN_SENTENCE = 15  # characters, once folded: "- Department" and bylines are not sentences
TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
STOP = frozenset("""
a about above after again against all also although am among an and another any are as at be because been
before being below between both but by can could did do does doing down during each either even ever every
few for from further had has have having he her here hers him his how however i if in into is it its itself
just last least less like made make many may me might more most much must my near nearly no nor not now of
off on once one only or other our out over own per said same say says she should since so some still such
than that the their theirs them then there these they this those though through thus to too under until up
upon us very was we were what when where whether which while who whom whose why will with within without
would year years yet you your according also amid told week day days month months new news report reports
reported including include includes
""".split())


@dataclass(frozen=True, slots=True)
class Features:
    """One article as the story rule sees it."""

    id: str
    at: datetime  # published (else crawled), UTC
    source: str
    language: str
    signature: LeanMinHash  # of the content words of title and text
    sentences: frozenset[int]  # crc32 of each folded sentence of the text (not the title: copies change it)
    title_words: frozenset[str]
    actors: frozenset[str]  # PERSON/ORG names in the title or lead, platforms left out
    entities: frozenset[str]  # every PERSON/ORG/GPE name
    figures: frozenset[str]  # "value unit", e.g. "297 cases", "50000000 KRW"


def words(text: str) -> set[str]:
    """Content words of a text: folded, stemmed, numbers without separators, Korean as syllable pairs."""
    text = unicodedata.normalize("NFKC", text).casefold()
    tokens = set(TOKEN.findall(HANGUL_WORD.sub(" ", text))) - STOP
    out = {_stem(t) for t in tokens if len(t) > 2 or t.isdigit()}
    for word in set(HANGUL_WORD.findall(text)):  # 딥페이크를 and 딥페이크 share 딥페, 페이, 이크
        out.update([word[i:i + 2] for i in range(len(word) - 1)] or [word])
    return out


@lru_cache(maxsize=1 << 17)
def _stem(token: str) -> str:
    """A light English stemmer (orders/ordered/ordering → order); numbers lose their separators."""
    if token[0].isdigit():
        return token.replace(",", "")
    token = token.replace("’", "'").removesuffix("'s")
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4 and not token.endswith("ss"):
            return token[: -len(suffix)] + keep
    return token


def sentence_set(text: str) -> set[str]:
    """The text's sentences, folded to their words, for telling copies from rewrites (exactly: an
    article has a few dozen, so sets are cheaper and more exact than a MinHash)."""
    lines = NOT_WORD.sub(" ", SENTENCE_END.sub("\n", unicodedata.normalize("NFKC", text).casefold())).split("\n")
    return {s for s in (" ".join(line.split()) for line in lines) if len(s) >= MIN_SENTENCE}


@cache
def _template() -> MinHash:
    # permutations are built once and shared by copies; crc32 costs a fraction of the default sha1,
    # and datasketch's affine32 scheme mixes every input hash (MurmurHash3's finaliser) anyway
    return MinHash(num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32)


def signature(tokens: Iterable[str]) -> LeanMinHash:
    m = _template().copy()
    m.update_batch([t.encode("utf-8") for t in set(tokens)])
    return LeanMinHash(m)


def encode_signature(sig: LeanMinHash) -> str:
    """The stored form (`signature`, an Elasticsearch `binary`): base64 of the little-endian hash values."""
    return base64.b64encode(np.asarray(sig.hashvalues, dtype="<u4").tobytes()).decode("ascii")


def decode_signature(value: str) -> LeanMinHash:
    values = np.frombuffer(base64.b64decode(value), dtype="<u4")
    return LeanMinHash(seed=1, hashvalues=values, scheme=_template().scheme)


def features(doc: Mapping[str, Any]) -> Features:
    """Features of an article document (`Article.to_doc()` or a stored document)."""
    title, text = doc.get("title") or "", doc.get("text") or ""
    return Features(
        id=doc["id"],
        at=_when(doc),
        source=(doc.get("source") or {}).get("id", ""),
        language=doc.get("language") or "",
        signature=signature(words(f"{title}\n{text}")),
        sentences=frozenset(zlib.crc32(s.encode("utf-8")) for s in sentence_set(text)),
        title_words=frozenset(words(title)),
        actors=_actors(title, doc.get("entities") or []),
        entities=_names(doc.get("entities") or [], ENTITY_LABELS),
        figures=frozenset(f"{float(f['value']):.15g} {f.get('unit') or ''}".strip() for f in doc.get("figures") or []
                          if f.get("value") is not None),
    )


def _when(doc: Mapping[str, Any]) -> datetime:
    value = doc.get("published_at") or doc.get("crawled_at")
    if isinstance(value, datetime):
        at = value
    elif value:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    else:
        at = datetime(1970, 1, 1, tzinfo=UTC)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _names(entities: Iterable[Mapping[str, Any]], labels: frozenset[str],
           context: Iterable[Mapping[str, Any]] = ()) -> frozenset[str]:
    """Case-folded names; a person's lone surname or given name ("Yoon") folds into the full name
    the article uses elsewhere ("Yoon Suk Yeol"), found in `entities` and `context`."""
    entities = list(entities)
    people = [e["norm"].casefold() for e in (*entities, *context) if e.get("label") == "PERSON" and e.get("norm")]
    full = {part: name for name in people if " " in name for part in name.split()}
    return frozenset(full.get(e["norm"].casefold(), e["norm"].casefold()) if e["label"] == "PERSON"
                     else e["norm"].casefold() for e in entities if e.get("label") in labels and e.get("norm"))


def _actors(title: str, entities: list[Mapping[str, Any]]) -> frozenset[str]:
    """People and organisations named in the title or the first LEAD_CHARS characters of the text."""
    folded = title.casefold()

    def named_up_front(e: Mapping[str, Any]) -> bool:
        surface = (e.get("text") or "").casefold()
        return (e.get("start") or 0) < LEAD_CHARS or bool(surface and surface in folded)

    def platform(e: Mapping[str, Any]) -> bool:
        return e["norm"].casefold() in PLATFORMS or (e.get("text") or "").casefold() in PLATFORMS

    up_front = [e for e in entities if e.get("label") in ACTOR_LABELS and e.get("norm")
                and not platform(e) and named_up_front(e)]
    return _names(up_front, ACTOR_LABELS, entities)
