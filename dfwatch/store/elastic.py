"""Elasticsearch store: versioned index template, reads and writes through an alias."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from config import DIR as CONFIG_DIR
from dfwatch.query import parse, to_simple_query_string
from dfwatch.records import figure_docs
from dfwatch.settings import StoreSettings
from dfwatch.store.base import Query, SearchResult, StoreError, hit_from_doc

MAPPING_VERSION = 1
SEARCH_FIELDS = ["title^3", "lead^2", "text"]


def load_template(kind: str = "articles", version: int = MAPPING_VERSION) -> dict[str, Any]:
    body = json.loads((CONFIG_DIR / "elasticsearch" / f"{kind}.v{version}.json").read_text())
    body.pop("_comment", None)
    return body


class ElasticsearchStore:
    def __init__(self, client: Elasticsearch, prefix: str = "dfwatch") -> None:
        self.es = client
        self.prefix = prefix
        self.alias = f"{prefix}-articles"
        self.figures_alias = f"{prefix}-figures"

    @classmethod
    def from_settings(cls, cfg: StoreSettings) -> ElasticsearchStore:
        auth: dict[str, Any] = {}
        if cfg.elasticsearch_api_key:
            auth["api_key"] = cfg.elasticsearch_api_key.get_secret_value()
        elif cfg.elasticsearch_username and cfg.elasticsearch_password:
            auth["basic_auth"] = (cfg.elasticsearch_username,
                                  cfg.elasticsearch_password.get_secret_value())
        client = Elasticsearch(cfg.elasticsearch_url, request_timeout=cfg.request_timeout,
                               retry_on_timeout=True, max_retries=2, **auth)
        return cls(client, cfg.index_prefix)

    @property
    def index_name(self) -> str:
        return f"{self.alias}-v{MAPPING_VERSION}"

    def setup(self) -> None:
        """Put each index template, then create the first index behind each alias if none is."""
        try:
            for kind, alias in (("articles", self.alias), ("figures", self.figures_alias)):
                self.es.indices.put_index_template(
                    name=alias, index_patterns=[f"{alias}-v*"], priority=100,
                    template=load_template(kind)["template"],
                    meta={"managed_by": "dfwatch", "mapping_version": MAPPING_VERSION},
                )
                if not self.es.indices.exists_alias(name=alias):
                    index = f"{alias}-v{MAPPING_VERSION}"
                    self.es.options(ignore_status=400).indices.create(index=index)
                    self.es.indices.put_alias(index=index, name=alias, is_write_index=True)
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch setup failed: {exc}") from exc

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Index articles and replace their figure records (ids from the natural keys)."""
        batch = list(docs)
        figures = [f for doc in batch for f in figure_docs(doc)]
        try:
            stale = self._stale_figures(batch, {f["id"] for f in figures})
            actions = [{"_op_type": "index", "_index": self.alias, "_id": d["id"], "_source": d} for d in batch]
            actions += [{"_op_type": "index", "_index": self.figures_alias, "_id": f["id"], "_source": f}
                        for f in figures]
            actions += [{"_op_type": "delete", "_index": self.figures_alias, "_id": fid} for fid in stale]
            ok, errors = helpers.bulk(self.es, actions, raise_on_error=False, chunk_size=500)
        except (ApiError, TransportError) as exc:
            raise StoreError(f"bulk write to {self.alias} failed: {exc}") from exc
        if isinstance(errors, list) and errors:
            raise StoreError(f"{len(errors)} documents rejected by {self.alias}: {errors[:3]}")
        return len(batch)

    def _stale_figures(self, docs: list[dict[str, Any]], keep: set[str]) -> list[str]:
        """Figure ids of these articles that the new versions no longer contain."""
        if not docs:
            return []
        resp = self.es.search(index=self.figures_alias, size=10_000, source=False,
                              query={"terms": {"article_id": [d["id"] for d in docs]}})
        return [h["_id"] for h in resp["hits"]["hits"] if h["_id"] not in keep]

    def figures(self, measure: str | None = None, article_id: str | None = None,
                size: int = 100) -> list[dict[str, Any]]:
        filters = [{"term": {k: v}} for k, v in (("measure", measure), ("article_id", article_id)) if v]
        resp = self.es.search(index=self.figures_alias, size=size, query={"bool": {"filter": filters}},
                              sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"start": "asc"}])
        return [h["_source"] for h in resp["hits"]["hits"]]

    def get(self, doc_id: str) -> dict[str, Any] | None:
        resp = self.es.options(ignore_status=404).get(index=self.alias, id=doc_id)
        return resp.get("_source") if resp.get("found") else None

    def count(self) -> int:
        return int(self.es.count(index=self.alias)["count"])

    def _query(self, query: Query) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        parsed = parse(query.text)
        if parsed:
            must.append({"simple_query_string": {
                "query": to_simple_query_string(parsed), "fields": SEARCH_FIELDS,
                "default_operator": "and", "flags": "OR|NOT|PHRASE|PRECEDENCE|WHITESPACE",
            }})
        elif query.text.strip():  # only punctuation: matches nothing, as in SQLite
            must.append({"match_none": {}})
        date_range = {k: v.isoformat() for k, v in (("gte", query.date_from), ("lte", query.date_to)) if v}
        filters = [{"range": {"published_at": date_range}}] if date_range else []
        return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}

    def search(self, query: Query, size: int = 10) -> SearchResult:
        sort = None if query.text.strip() else [{"published_at": {"order": "desc", "missing": "_last"}}]
        resp = self.es.search(index=self.alias, query=self._query(query), size=size, sort=sort,
                              track_total_hits=True)
        hits = [hit_from_doc(h["_source"], float(h["_score"] or 0)) for h in resp["hits"]["hits"]]
        return SearchResult(int(resp["hits"]["total"]["value"]), hits)

    def monthly_counts(self, query: Query) -> list[tuple[str, int]]:
        resp = self.es.search(
            index=self.alias, query=self._query(query), size=0,
            aggs={"months": {"date_histogram": {"field": "published_at", "calendar_interval": "month",
                                                 "format": "yyyy-MM", "min_doc_count": 1}}},
        )
        return [(b["key_as_string"], int(b["doc_count"])) for b in resp["aggregations"]["months"]["buckets"]]

    def refresh(self) -> None:
        self.es.indices.refresh(index=f"{self.alias},{self.figures_alias}")

    def close(self) -> None:
        self.es.close()
