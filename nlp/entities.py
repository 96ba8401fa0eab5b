"""Named entities (PERSON, ORG, GPE, NORP) from spaCy, with systematic model errors fixed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from spacy.tokens import Doc

from dfwatch.records import Entity
from nlp.loading import load_pipeline

KEEP_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
# en_core_web_sm tags platforms as PRODUCT/PERSON/WORK_OF_ART; they act as organisations here.
PLATFORMS = frozenset({"telegram", "instagram", "facebook", "x", "twitter", "youtube",
                       "tiktok", "discord", "kakaotalk", "naver", "google", "apple", "meta"})
UNUSED = ("parser", "lemmatizer", "attribute_ruler", "tagger", "senter")
LEADING_THE = re.compile(r"^the\s+", re.I)


class EntityExtractor:
    """Batched NER over English texts; other languages get no entities (yet)."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size

    def extract(self, texts: Iterable[str]) -> list[list[Entity]]:
        nlp = load_pipeline(self.model, UNUSED)
        return [self._entities(doc) for doc in nlp.pipe(texts, batch_size=self.batch_size)]

    @staticmethod
    def _entities(doc: Doc) -> list[Entity]:
        out = []
        for ent in doc.ents:
            text = ent.text.strip()
            label = "ORG" if text.lower() in PLATFORMS else ent.label_
            if label not in KEEP_LABELS or not text:
                continue
            out.append(Entity(text=text, label=label, norm=normalise(text),
                              start=ent.start_char, end=ent.end_char))
        return out


def normalise(name: str) -> str:
    """Folded display form: whitespace collapsed, leading 'the' and possessive dropped."""
    name = " ".join(name.split())
    name = LEADING_THE.sub("", name)
    return re.sub(r"['’]s$", "", name)
