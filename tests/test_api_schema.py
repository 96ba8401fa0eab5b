"""Property-based run of schemathesis against the app's own OpenAPI spec: no input gives a 5xx.

The app runs over a real SQLite store holding test_api's corpus (and once over the real
Elasticsearch node), with an API key configured, so the auth checks run too. Each operation
gets schema-valid (positive) and schema-violating (negative) input. Every default schemathesis
check runs (no 5xx, documented status codes and content types, response schemas, auth, ...)
except two that cannot hold for this API by design:
- `positive_data_acceptance`: some schema-valid combinations are refused on purpose with a
  clear 4xx (from after to, `page` without `collapse`, a cursor that is not ours);
- `negative_data_rejection`: a query string has no types, so the "integer 0" schemathesis
  sends for a string parameter arrives as the valid string "0".
tests/test_api.py checks the rejections that matter one by one. The run is bounded:
MAX_EXAMPLES per operation and mode, no deadline; the counts are printed at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from test_api import KEY, drop_indices, load_corpus, make_settings

from dfwatch.web import create_app

MAX_EXAMPLES = 30
EXCLUDED = [positive_data_acceptance, negative_data_rejection]
STATUSES: dict[str, Counter[int]] = {"sqlite": Counter(), "elasticsearch": Counter()}


def keyed_app(data_dir: Path, **overrides: Any) -> Any:
    settings = make_settings(data_dir, **overrides)
    load_corpus(settings)
    settings = settings.model_copy(update={"web": settings.web.model_copy(update={"api_key": SecretStr(KEY)})})
    return create_app(settings, host="0.0.0.0")  # a public binding: the key is required


@pytest.fixture(scope="module")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", keyed_app(tmp_path_factory.mktemp("schema")))


@pytest.fixture(scope="module")
def es_schema(tmp_path_factory: pytest.TempPathFactory, es_url: str) -> Iterator[Any]:
    prefix = f"tsch{time.monotonic_ns() % 10**9}"
    app = keyed_app(tmp_path_factory.mktemp("schema-es"), store={"elasticsearch_url": es_url, "index_prefix": prefix})
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    drop_indices(es_url, prefix)


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many cases ran and how many got a 5xx, per store (past pytest's output capture)."""
    yield
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        for store, statuses in STATUSES.items():
            if statuses:
                errors = sum(n for status, n in statuses.items() if status >= 500)
                terminal.write_line(f"\nschemathesis on {store}: {sum(statuses.values())} cases, {errors} with a "
                                    f"5xx; statuses {dict(sorted(statuses.items()))}")


def run(case: Any, store: str) -> None:
    response = case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=EXCLUDED)
    STATUSES[store][response.status_code] += 1
    assert response.status_code < 500, response.text


OPERATIONS = [("GET", "/api/search"), ("GET", "/api/timeline"), ("GET", "/api/figures"),
              ("GET", "/api/figures/series"), ("GET", "/api/stories/{story_id}"),
              ("GET", "/api/articles/{article_id}"), ("GET", "/api/export"), ("GET", "/api/health")]
STORES = ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]


def test_every_operation_is_fuzzed(sqlite_schema: Any) -> None:
    spec = sqlite_schema.raw_schema
    assert sorted((m.upper(), p) for p, ops in spec["paths"].items() for m in ops) == sorted(OPERATIONS)


CASES = [(m, p, mode) for m, p in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if (p, mode) != ("/api/health", GenerationMode.NEGATIVE)]  # health takes no input to get wrong


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
@pytest.mark.parametrize("store", STORES)
def test_no_input_gives_a_server_error(request: pytest.FixtureRequest, store: str, method: str, path: str,
                                       mode: GenerationMode) -> None:
    """Schema-valid input (positive) and invalid input (negative) for each operation: never a 5xx."""
    schema = request.getfixturevalue(f"{'es' if store == 'elasticsearch' else 'sqlite'}_schema")
    operation = schema[path][method]
    examples = MAX_EXAMPLES if store == "sqlite" else MAX_EXAMPLES // 2

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: Any) -> None:
        run(case, store)

    check()
