"""Build the per-language NLP pipelines and run passages through them in batches."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import spacy
from spacy.language import Language

import nlp.components  # noqa: F401  (registers the dfwatch_* factories)
from dfwatch.records import Entity
from nlp.figures import Figure
from nlp.gazetteer import load_gazetteer
from nlp.language import detect_language
from nlp.loading import load_pipeline
from nlp.relevance import Judgement

UNUSED = ("parser", "lemmatizer", "attribute_ruler", "tagger", "senter")


@dataclass
class Passage:
    text: str
    published: date | None = None
    lang: str | None = None
    place: str | None = None


@dataclass
class Analysis:
    lang: str
    entities: list[Entity]
    figures: list[Figure]
    relevance: Judgement


@lru_cache(maxsize=4)
def english_pipeline(model: str, threshold: float = 2.5) -> Language:
    nlp = load_pipeline(model, UNUSED)
    if "entity_ruler" not in nlp.pipe_names:
        ruler = nlp.add_pipe("entity_ruler", before="ner", config={"overwrite_ents": True})
        ruler.add_patterns(load_gazetteer(1).spacy_patterns())  # type: ignore[attr-defined]
        nlp.add_pipe("dfwatch_entities", config={"lang": "en"})
        nlp.add_pipe("dfwatch_figures", config={"lang": "en"})
        nlp.add_pipe("dfwatch_relevance", config={"threshold": threshold})
    return nlp


@lru_cache(maxsize=2)
def korean_pipeline(threshold: float = 2.5) -> Language:
    nlp = spacy.blank("xx")
    nlp.add_pipe("dfwatch_entities", config={"lang": "ko"})
    nlp.add_pipe("dfwatch_figures", config={"lang": "ko"})
    nlp.add_pipe("dfwatch_relevance", config={"threshold": threshold})
    return nlp


class Analyzer:
    """Entities, figures and relevance for passages in any mix of English and Korean.

    Thread-safe: pipelines are built and run under one lock, since several crawls may
    share a process and spaCy pipelines are not safe to run concurrently.
    """

    _lock = threading.Lock()

    def __init__(self, model: str, batch_size: int = 32, threshold: float = 2.5, n_process: int = 1) -> None:
        self.model = model
        self.batch_size = batch_size
        self.threshold = threshold
        self.n_process = n_process

    def pipeline(self, lang: str) -> Language:
        return korean_pipeline(self.threshold) if lang == "ko" else english_pipeline(self.model, self.threshold)

    def analyze(self, passages: Iterable[Passage]) -> list[Analysis]:
        with self._lock:
            return self._analyze(list(passages))

    def _analyze(self, items: list[Passage]) -> list[Analysis]:
        langs = [p.lang or detect_language(p.text) for p in items]
        results: list[Analysis | None] = [None] * len(items)
        for lang in dict.fromkeys(langs):
            idx = [i for i, lg in enumerate(langs) if lg == lang]
            for i, doc in zip(idx, self._run(lang, [items[i] for i in idx]), strict=True):
                results[i] = Analysis(lang, [Entity(**e) for e in doc._.entities],
                                      [Figure.from_dict(f) for f in doc._.figures], Judgement(**doc._.relevance))
        return [r for r in results if r is not None]

    def _run(self, lang: str, passages: list[Passage]) -> Iterator[spacy.tokens.Doc]:
        nlp = self.pipeline(lang)
        docs = []
        for p in passages:
            doc = nlp.make_doc(p.text)
            doc._.published = p.published.isoformat() if p.published else None
            doc._.place = p.place
            docs.append(doc)
        procs = self.n_process if len(docs) >= 4 * self.batch_size else 1  # forking costs more than small batches
        yield from nlp.pipe(docs, batch_size=self.batch_size, n_process=procs)
