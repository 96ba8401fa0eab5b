"""Elasticsearch indices: versioned templates, read and write aliases, setup, status, crawl runs.

Each kind (articles, figures, runs) lives in a concrete index `<prefix>-<kind>-v<N>`
(a forced rebuild of the same version adds `-r2`, `-r3`, ...), created from the index
template `config/elasticsearch/<kind>.v<N>.json`. Readers use the read alias
`<prefix>-<kind>`, writers the write alias `<prefix>-<kind>-write`; the two point at the
same index except while `migrate` (dfwatch.store.es_migrate) copies into a new one.
The node's analysers are probed once per setup: where english, cjk or nori exist, the
articles mapping gets sub-fields for them (`build_template`). Field docs: docs/elasticsearch.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, OrjsonSerializer, TransportError

from config import DIR as CONFIG_DIR
from dfwatch.settings import StoreSettings
from dfwatch.store.base import StoreError

if TYPE_CHECKING:
    from dfwatch.store.es_migrate import MigrationReport

logger = logging.getLogger(__name__)

KINDS = ("articles", "figures", "runs")
LATEST = {"articles": 3, "figures": 2, "runs": 1}  # newest template version per kind
# capability -> how `_analyze` finds it on the node
PROBES: dict[str, dict[str, Any]] = {
    "english": {"analyzer": "english"},
    "cjk": {"analyzer": "cjk"},
    "nori": {"tokenizer": "nori_tokenizer", "filter": ["nori_part_of_speech", "nori_readingform", "lowercase"]},
}
# capability -> (sub-field name, analyzer, articles text fields that get it)
SUBFIELDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "english": ("en", "english", ("title", "lead", "text")),
    "cjk": ("cjk", "cjk", ("title", "text")),
    "nori": ("ko", "dfwatch_nori", ("title", "text")),
}
NORI_ANALYZER = {"type": "custom", "tokenizer": "nori_tokenizer", "filter": PROBES["nori"]["filter"]}


def read_alias(prefix: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; expected one of {', '.join(KINDS)}")
    return f"{prefix}-{kind}"


def write_alias(prefix: str, kind: str) -> str:
    return f"{read_alias(prefix, kind)}-write"


@cache
def _template_file(kind: str, version: int) -> dict[str, Any]:
    body = json.loads((CONFIG_DIR / "elasticsearch" / f"{kind}.v{version}.json").read_text(encoding="utf-8"))
    return body["template"]


def build_template(kind: str, version: int | None = None, capabilities: frozenset[str] | set[str] = frozenset(),
                   shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings and mappings for a new `kind` index of `version` (default: the newest) on a node
    with `capabilities`; the mapping's `_meta` records the version and the capabilities used."""
    version = version or LATEST[kind]
    body = copy.deepcopy(_template_file(kind, version))
    settings, mappings = body["settings"], body["mappings"]
    settings.update(number_of_shards=shards, number_of_replicas=replicas)
    used = sorted(c for c in capabilities if c in SUBFIELDS) if kind == "articles" else []
    for cap in used:
        name, analyzer, fields = SUBFIELDS[cap]
        for field in fields:
            mappings["properties"][field].setdefault("fields", {})[name] = {"type": "text", "analyzer": analyzer}
    if "nori" in used:
        settings["analysis"] = {"analyzer": {"dfwatch_nori": NORI_ANALYZER}}
    mappings["_meta"] = {"dfwatch_mapping_version": version, "dfwatch_kind": kind, "capabilities": used}
    return {"settings": settings, "mappings": mappings}


def es_client(cfg: StoreSettings, **options: Any) -> Elasticsearch:
    """A client for `cfg`'s node, with its credentials from the environment-only settings."""
    if not cfg.elasticsearch_url:
        raise StoreError("no Elasticsearch URL configured (store.elasticsearch_url)")
    auth: dict[str, Any] = {}
    if cfg.elasticsearch_api_key:
        auth["api_key"] = cfg.elasticsearch_api_key.get_secret_value()
    elif cfg.elasticsearch_username and cfg.elasticsearch_password:
        auth["basic_auth"] = (cfg.elasticsearch_username, cfg.elasticsearch_password.get_secret_value())
    kw: dict[str, Any] = {"request_timeout": cfg.request_timeout, "retry_on_timeout": True, "max_retries": 2,
                          "serializer": OrjsonSerializer()}  # bulk bodies serialise ~3.5x faster than with json
    return Elasticsearch(cfg.elasticsearch_url, **{**kw, **auth, **options})


# Refresh during a bulk load: every 2 s, not off (-1) as Elastic's guide has it. On two cores shared
# by node and client, refreshing off leaves the whole segment write for one final refresh while
# the other core idles; refreshing every few seconds overlaps it with indexing. Measured side by
# side (docs/elasticsearch.md, "Bulk loading"): 100k articles load ~10 % faster than with -1, and
# at 2 s as at 5 s; 10k articles, 3,028 docs/s at 2 s against 2,860 at 5 s (one refresh at the end,
# as with -1). Spelt 2000ms, a value nobody sets by hand, so that an index still holding it is
# known to be left by a killed load; so are `LEFTOVER_REFRESH`, from earlier dfwatch versions.
LOAD_REFRESH = "2000ms"
LEFTOVER_REFRESH = (LOAD_REFRESH, "5000ms", "-1")
LOAD_SETTINGS = {"index.refresh_interval": LOAD_REFRESH, "index.number_of_replicas": "0"}


def template_refresh() -> str:
    """The refresh interval the templates give every index (config/elasticsearch/*.json: 1s)."""
    return str(_template_file("articles", LATEST["articles"])["settings"]["refresh_interval"])


@contextmanager
def bulk_load_settings(es: Elasticsearch, aliases: list[str], drop_replicas: bool = False,
                       replicas: int = 0) -> Iterator[None]:
    """Refresh rare on the indices behind `aliases` (`LOAD_REFRESH`; and no replicas if
    `drop_replicas`) while the block runs, as Elastic's indexing-speed guide advises for bulk
    loads; on the way out, even when the block raised, each index gets its previous values back,
    then a refresh.

    A previous value equal to the bulk-load value (or `LEFTOVER_REFRESH`) means a load is running
    or one was killed: the index then gets the template's refresh interval and `replicas` (the
    configured count) instead.
    Replicas are for initial loads only: re-adding them copies every shard again.
    """
    wanted = dict(LOAD_SETTINGS) if drop_replicas else {"index.refresh_interval": LOAD_REFRESH}
    found = es.indices.get_settings(index=",".join(aliases), name=",".join(wanted), flat_settings=True,
                                    include_defaults=True)
    fallback = {"index.refresh_interval": template_refresh(), "index.number_of_replicas": str(replicas)}
    left = {k: (v,) if k != "index.refresh_interval" else LEFTOVER_REFRESH for k, v in wanted.items()}
    before: dict[str, dict[str, str]] = {}
    for index, info in found.items():
        values = {**info.get("defaults", {}), **info.get("settings", {})}
        before[index] = {k: fallback[k] if str(values.get(k)) in left[k] else str(values.get(k, fallback[k]))
                         for k in wanted}
    es.indices.put_settings(index=",".join(before), settings=wanted)
    try:
        yield
    finally:
        for index, values in before.items():
            es.indices.put_settings(index=index, settings=values)
        es.indices.refresh(index=",".join(before))


class IndexManager:
    """Creates, inspects and migrates one prefix's indices; every Elasticsearch failure is a StoreError."""

    def __init__(self, client: Elasticsearch, prefix: str = "dfwatch", shards: int = 1, replicas: int = 0) -> None:
        self.es = client
        self.prefix = prefix
        self.shards = shards
        self.replicas = replicas
        self._caps: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, cfg: StoreSettings, **client_options: Any) -> IndexManager:
        return cls(es_client(cfg, **client_options), cfg.index_prefix, cfg.number_of_shards, cfg.number_of_replicas)

    def close(self) -> None:
        self.es.close()

    # ------------------------------------------------------------------ names and state
    def read(self, kind: str) -> str:
        return read_alias(self.prefix, kind)

    def write(self, kind: str) -> str:
        return write_alias(self.prefix, kind)

    def template(self, kind: str, version: int | None = None) -> dict[str, Any]:
        return build_template(kind, version, self.capabilities(), self.shards, self.replicas)

    def capabilities(self) -> set[str]:
        """The optional analysers this node has (english, cjk, nori), probed with `_analyze` once."""
        if self._caps is None:
            found = set()
            for name, probe in PROBES.items():
                try:
                    self.es.indices.analyze(text="deepfake 딥페이크를", **probe)
                except BadRequestError:  # "failed to find global analyzer/tokenizer"
                    continue
                except (ApiError, TransportError) as exc:
                    raise StoreError(f"Elasticsearch at {self._where()} did not answer: {exc}") from exc
                found.add(name)
            self._caps = frozenset(found)
        return set(self._caps)

    def alias_indices(self, alias: str) -> dict[str, bool]:
        """The indices behind `alias`, each with whether it is the alias's write index."""
        resp = self.es.options(ignore_status=404).indices.get_alias(name=alias)
        if resp.meta.status == 404:
            return {}
        return {index: bool(info["aliases"][alias].get("is_write_index")) for index, info in resp.body.items()}

    def read_index(self, kind: str) -> str | None:
        indices = list(self.alias_indices(self.read(kind)))
        if len(indices) > 1:
            raise StoreError(f"alias {self.read(kind)} points at {len(indices)} indices ({', '.join(indices)}); "
                             "dfwatch expects one: remove the extra ones with POST _aliases")
        return indices[0] if indices else None

    def write_index(self, kind: str) -> str | None:
        indices = self.alias_indices(self.write(kind))
        if len(indices) > 1:
            indices = {i: w for i, w in indices.items() if w}
        return next(iter(indices), None)

    def version(self, index: str) -> int:
        """The mapping version an index was created with (`_meta`; indices of dfwatch 0.1 have none: 1)."""
        mapping = self.es.indices.get_mapping(index=index)[index]["mappings"]
        return int(mapping.get("_meta", {}).get("dfwatch_mapping_version", 1))

    def _where(self) -> str:
        try:
            return str(self.es.transport.node_pool.get().base_url)
        except Exception:  # noqa: BLE001 - only for the message
            return "the configured URL"

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except StoreError:
            raise
        except (ApiError, TransportError) as exc:
            raise StoreError(f"{what} failed on Elasticsearch at {self._where()}: {exc}") from exc

    # ------------------------------------------------------------------ setup
    def setup(self) -> dict[str, Any]:
        """Put the templates and create what is missing; returns {capabilities, changes, pending}.

        Idempotent: a second run reports no changes. An index of an older mapping version
        keeps serving: setup gives it the write alias it lacks and adds the newer version's
        new fields to its mapping (adding fields is allowed in place), so current documents
        can be written to it; `pending` says that `dfwatch index migrate` will rebuild it.
        """
        return self._guard("index setup", self._setup)

    def _setup(self) -> dict[str, Any]:
        caps = self.capabilities()
        changes: list[str] = []
        pending: list[str] = []
        for kind in KINDS:
            if self._put_template(kind):
                changes.append(f"template {self.read(kind)} v{LATEST[kind]}")
            current = self.read_index(kind)
            if current is None:
                changes.append(self._create_first(kind))
                continue
            writer = self.write_index(kind)
            if writer is None:
                self.es.indices.put_alias(index=current, name=self.write(kind), is_write_index=True)
                changes.append(f"alias {self.write(kind)} -> {current}")
            elif writer != current:
                pending.append(f"{kind}: writes go to {writer} but reads to {current}: a migration is under way "
                               "or was interrupted; `dfwatch index migrate` finishes it")
            version = self.version(current)
            if version < LATEST[kind]:
                added = self._add_new_fields(kind, current)
                if added:
                    changes.append(f"mapping of {current}: added {', '.join(added)}")
                pending.append(f"{kind}: {current} has mapping v{version}; `dfwatch index migrate` "
                               f"rebuilds it as v{LATEST[kind]}")
            elif version > LATEST[kind]:
                pending.append(f"{kind}: {current} has mapping v{version}, newer than this dfwatch (v{LATEST[kind]})")
        changes += self._refresh_back_on()
        return {"capabilities": sorted(caps), "changes": changes, "pending": pending}

    def _refresh_back_on(self) -> list[str]:
        """The usual refresh back where a bulk load that was killed left its own (`bulk_load_settings`;
        5000ms and -1 from earlier dfwatch versions)."""
        found = self.es.indices.get_settings(index=",".join(self.write(k) for k in KINDS),
                                             name="index.refresh_interval", flat_settings=True)
        off = sorted(i for i, info in found.items()
                     if info["settings"].get("index.refresh_interval") in LEFTOVER_REFRESH)
        if off:
            self.es.indices.put_settings(index=",".join(off), settings={"index.refresh_interval": template_refresh()})
        return [f"refresh of {index} back on (a bulk load was interrupted)" for index in off]

    def _put_template(self, kind: str) -> bool:
        """Put `kind`'s index template unless the same one (by digest) is there; True if put."""
        body = self.template(kind)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        name = self.read(kind)
        resp = self.es.options(ignore_status=404).indices.get_index_template(name=name)
        if resp.meta.status != 404:
            current = resp.body["index_templates"][0]["index_template"].get("_meta", {})
            if current.get("digest") == digest:
                return False
        self.es.indices.put_index_template(
            name=name, index_patterns=[f"{name}-v*"], priority=100, template=body,
            meta={"managed_by": "dfwatch", "kind": kind, "mapping_version": LATEST[kind],
                  "capabilities": body["mappings"]["_meta"]["capabilities"], "digest": digest})
        return True

    def _create_first(self, kind: str) -> str:
        index = f"{self.read(kind)}-v{LATEST[kind]}"
        aliases = {self.read(kind): {"is_write_index": False}, self.write(kind): {"is_write_index": True}}
        if not self.es.indices.exists(index=index):
            try:
                self.es.indices.create(index=index, aliases=aliases, **self.template(kind))
                return f"index {index} with aliases {self.read(kind)}, {self.write(kind)}"
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
        # left by an interrupted setup, or created by a concurrent one: adding the aliases again is harmless
        self.es.indices.update_aliases(actions=[{"add": {"index": index, "alias": a, **o}} for a, o in aliases.items()])
        return f"aliases {self.read(kind)}, {self.write(kind)} -> {index}"

    def _add_new_fields(self, kind: str, index: str) -> list[str]:
        """Add the newest version's top-level fields that `index` lacks (core analysers only)."""
        mapping = self.es.indices.get_mapping(index=index)[index]["mappings"]
        have = mapping.get("properties", {})
        want = build_template(kind)["mappings"]["properties"]
        missing = {name: spec for name, spec in want.items() if name not in have}
        if missing:
            self.es.indices.put_mapping(index=index, properties=missing)
        return sorted(missing)

    # ------------------------------------------------------------------ migrate, status, runs
    def migrate(self, keep_old: bool = False, force: bool = False,
                progress: Callable[[str, int, int], None] | None = None, batch_size: int = 1000) -> MigrationReport:
        """Rebuild every kind whose index is older than its newest template (all with `force`);
        see dfwatch.store.es_migrate for the procedure and its guarantees."""
        from dfwatch.store.es_migrate import migrate

        return self._guard("index migrate", lambda: migrate(self, keep_old, force, progress, batch_size))

    def status(self) -> dict[str, Any]:
        """Per kind: the indices behind the aliases, their mapping version, documents and capabilities."""
        return self._guard("index status", self._status)

    def _status(self) -> dict[str, Any]:
        caps = self.capabilities()
        kinds: dict[str, Any] = {}
        for kind in KINDS:
            current = self.read_index(kind)
            entry: dict[str, Any] = {"read_alias": self.read(kind), "write_alias": self.write(kind),
                                     "read_index": current, "write_index": self.write_index(kind),
                                     "latest_version": LATEST[kind]}
            if current is not None:
                meta = self.es.indices.get_mapping(index=current)[current]["mappings"].get("_meta", {})
                entry["version"] = int(meta.get("dfwatch_mapping_version", 1))
                entry["capabilities"] = meta.get("capabilities", [])
                entry["docs"] = int(self.es.count(index=current)["count"])
                unused = sorted(caps & set(SUBFIELDS) - set(entry["capabilities"])) if kind == "articles" else []
                entry["needs_migration"] = entry["version"] < LATEST[kind] or entry["write_index"] != current
                entry["unused_capabilities"] = unused
            names = self.es.indices.get(index=f"{self.read(kind)}-v*", expand_wildcards="open,closed")
            entry["other_indices"] = sorted(n for n in names if n not in (current, entry["write_index"]))
            kinds[kind] = entry
        return {"prefix": self.prefix, "capabilities": sorted(caps), "kinds": kinds}

    def record_run(self, run: dict[str, Any]) -> str:
        """Index a crawl run (`dfwatch.runs.Run.as_dict()`) through the runs write alias; returns its id.

        The id derives from source and start time, so recording the same run twice keeps one document.
        """
        doc = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in run.items()}
        started, finished = (datetime.fromisoformat(str(doc[k])) for k in ("started_at", "finished_at"))
        doc["duration_seconds"] = round((finished - started).total_seconds(), 3)
        doc["id"] = hashlib.sha1(f"{doc['source_id']}|{doc['started_at']}".encode()).hexdigest()  # noqa: S324
        self._guard("recording the crawl run", lambda: self.es.index(
            index=self.write("runs"), id=doc["id"], document=doc, require_alias=True))
        return str(doc["id"])

    def drop(self) -> list[str]:
        """Delete every index and template of this prefix (the demo's reset, tests); returns the indices."""
        def run() -> list[str]:
            names = sorted(self.es.indices.get(index=",".join(f"{self.read(k)}-v*" for k in KINDS),
                                               expand_wildcards="open,closed"))
            if names:  # wildcard deletes are refused (action.destructive_requires_name)
                self.es.indices.delete(index=",".join(names))
            for kind in KINDS:
                self.es.options(ignore_status=404).indices.delete_index_template(name=self.read(kind))
            return names
        return self._guard("dropping the indices", run)


def index_run(cfg: StoreSettings, run: dict[str, Any]) -> bool:
    """Copy a finished crawl run into the runs index when the store is Elasticsearch.

    The run log in state.sqlite3 is the source of truth, so a failure here is logged as a
    warning and never fails the crawl. Returns whether the run was indexed.
    """
    if cfg.backend != "elasticsearch":
        return False
    try:
        manager = IndexManager.from_settings(cfg, max_retries=0)
    except StoreError as exc:
        logger.warning("crawl run not copied to Elasticsearch: %s", exc)
        return False
    try:
        manager.record_run(run)
    except StoreError as exc:
        logger.warning("crawl run of %s not copied to %s (kept in the run log): %s",
                       run.get("source_id"), manager.write("runs"), exc)
        return False
    finally:
        manager.close()
    return True
