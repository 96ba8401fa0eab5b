"""dfwatch's spaCy components. Each writes one Doc extension, as plain data (dicts and
lists, so docs cross process boundaries with n_process > 1):

doc._.entities (Entity dicts), doc._.figures (Figure dicts), doc._.relevance (Judgement dict).
Set doc._.published (an ISO date string) before the pipeline runs so periods resolve against it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from nlp.entities import english_entities, korean_entities
from nlp.figures import extract_figures
from nlp.gazetteer import Gazetteer, load_gazetteer
from nlp.relevance import RelevanceScorer

for _name in ("published", "entities", "figures", "relevance", "place"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@registry.misc("dfwatch.gazetteer.v1")
def gazetteer_v1() -> Gazetteer:
    return load_gazetteer(1)


@Language.factory("dfwatch_entities", default_config={"lang": "en"})
def make_entities(nlp: Language, name: str, lang: str):
    gazetteer = load_gazetteer(1)

    def component(doc: Doc) -> Doc:
        found = korean_entities(doc.text, gazetteer) if lang == "ko" else english_entities(doc, gazetteer)
        doc._.entities = [asdict(e) for e in found]
        return doc
    return component


@Language.factory("dfwatch_figures", default_config={"lang": "en"})
def make_figures(nlp: Language, name: str, lang: str):
    def component(doc: Doc) -> Doc:
        published = date.fromisoformat(doc._.published) if doc._.published else date.today()
        doc._.figures = [{**f.as_dict(), "period_iso": f._period_iso}
                         for f in extract_figures(doc.text, published, lang, place=doc._.place)]
        return doc
    return component


@Language.factory("dfwatch_relevance", default_config={"version": 1, "threshold": 2.5})
def make_relevance(nlp: Language, name: str, version: int, threshold: float):
    scorer = RelevanceScorer.load(version, threshold)

    def component(doc: Doc) -> Doc:
        doc._.relevance = asdict(scorer.judge(doc.text))
        return doc
    return component
