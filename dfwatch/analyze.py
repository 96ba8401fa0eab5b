"""`dfwatch analyze`: NLP over JSONL passages, written in the evaluation's prediction format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from typing import IO, Any

from nlp.entities import SCORED_LABELS
from nlp.pipeline import Analysis, Analyzer, Passage


class InputError(ValueError):
    """A line of the input is not a passage; the message names the line."""


def read_passages(lines: Iterable[str], name: str = "<stdin>") -> Iterator[tuple[str, Passage]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pid, text = str(row["id"]), row["text"]
            published = date.fromisoformat(row["published"][:10]) if row.get("published") else None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{name}:{n}: not a passage ({exc!r}); need 'id' and 'text'") from None
        yield pid, Passage(text=text, published=published, lang=row.get("lang"))


def prediction(pid: str, a: Analysis) -> dict[str, Any]:
    return {
        "id": pid,
        "lang": a.lang,
        "relevant": a.relevance.relevant,
        "score": a.relevance.score,
        "topics": a.relevance.topics,
        "evidence": a.relevance.evidence,
        "entities": [{"text": e.text, "label": e.label, "norm": e.norm} for e in a.entities
                     if e.label in SCORED_LABELS],
        "figures": [{**{k: v for k, v in f.as_dict().items() if k != "sentence"},
                     "period": f._period_iso} for f in a.figures],
    }


def analyze_stream(analyzer: Analyzer, lines: Iterable[str], out: IO[str], name: str = "<stdin>",
                   chunk: int = 512) -> int:
    """Analyze passages chunk by chunk (bounded memory); returns how many were written."""
    passages = read_passages(lines, name)
    written = 0
    while batch := list(islice(passages, chunk)):
        for (pid, _), result in zip(batch, analyzer.analyze(p for _, p in batch), strict=True):
            out.write(json.dumps(prediction(pid, result), ensure_ascii=False) + "\n")
            written += 1
    return written
