"""`dfwatch index migrate`: rebuild an index as the newest template version, searches answering throughout.

For each kind whose index behind the read alias is older than the newest template (or
every kind with `force`):

1. create the new index `<alias>-v<N>` (`-r2`, `-r3`, ... when that name is taken);
2. in one `_aliases` call, move the write alias to it (writes from now on land there) and
   make the read alias refuse writes, so nothing can be written to the old index;
3. copy every document of the old index client-side (the minimal node has no `_reindex`):
   a point-in-time reader with `search_after`, and bulk `create` actions, so a document
   written through the write alias meanwhile is kept, not overwritten by its older copy.
   v1 articles get the derived fields (`dfwatch.store.prepare`), v1 figures their story_id;
4. refresh, then swap the read alias in one `_aliases` call (remove old, add new), so every
   search sees either the whole old index or the whole new one;
5. delete the old index unless `keep_old`.

Until step 4, documents written during the migration are searchable only once it ends.
An interrupted migration leaves the write alias on the new index; running migrate again
resumes the copy into it (step 3 skips what is there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from elasticsearch import helpers

from dfwatch.store.base import StoreError

if TYPE_CHECKING:
    from dfwatch.store.es_index import IndexManager

KEEP_ALIVE = "5m"
Progress = Callable[[str, int, int], None]  # (kind, documents done, documents in the old index)


@dataclass
class KindMigration:
    kind: str
    old_index: str
    new_index: str
    old_version: int
    new_version: int
    copied: int = 0  # documents created in the new index from the old one
    kept_newer: int = 0  # documents already written to the new index during the migration: not overwritten
    new_count: int = 0  # documents in the new index once the read alias points at it
    seconds: float = 0.0
    old_deleted: bool = False
    resumed: bool = False


@dataclass
class MigrationReport:
    migrated: list[KindMigration] = field(default_factory=list)
    up_to_date: dict[str, str] = field(default_factory=dict)  # kind -> its current index
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"migrated": [asdict(m) for m in self.migrated], "up_to_date": self.up_to_date,
                "seconds": round(self.seconds, 3)}


def migrate(mgr: IndexManager, keep_old: bool = False, force: bool = False,
            progress: Progress | None = None, batch_size: int = 1000) -> MigrationReport:
    from dfwatch.store.es_index import KINDS, LATEST

    started = time.monotonic()
    mgr.setup()  # templates, missing write aliases, and the indices of new kinds
    report = MigrationReport()
    for kind in KINDS:
        old = mgr.read_index(kind)
        if old is None:  # setup just created it: only a concurrent drop gets here
            raise StoreError(f"alias {mgr.read(kind)} vanished during the migration")
        target = mgr.write_index(kind)
        resumed = target is not None and target != old
        version = mgr.version(old)
        if version > LATEST[kind]:
            raise StoreError(f"{old} has mapping v{version}, newer than this dfwatch knows (v{LATEST[kind]}); "
                             "upgrade dfwatch instead of migrating back")
        if not resumed and version == LATEST[kind] and not force:
            report.up_to_date[kind] = old
            continue
        t0 = time.monotonic()
        new = target if resumed and target else _create(mgr, kind)
        step = KindMigration(kind, old, new, version, mgr.version(new), resumed=resumed)
        if not resumed:
            mgr.es.indices.update_aliases(actions=[
                {"remove": {"index": old, "alias": mgr.write(kind)}},
                {"add": {"index": new, "alias": mgr.write(kind), "is_write_index": True}},
                {"add": {"index": old, "alias": mgr.read(kind), "is_write_index": False}},
            ])
        step.copied, step.kept_newer = _copy(mgr, kind, old, new, batch_size, progress)
        mgr.es.indices.refresh(index=new)
        mgr.es.indices.update_aliases(actions=[
            {"remove": {"index": old, "alias": mgr.read(kind)}},
            {"add": {"index": new, "alias": mgr.read(kind), "is_write_index": False}},
        ])
        step.new_count = int(mgr.es.count(index=new)["count"])
        if not keep_old:
            mgr.es.indices.delete(index=old)
            step.old_deleted = True
        step.seconds = round(time.monotonic() - t0, 3)
        report.migrated.append(step)
    report.seconds = time.monotonic() - started
    return report


def _create(mgr: IndexManager, kind: str) -> str:
    """Create the next index of `kind` from the newest template; returns its name."""
    from dfwatch.store.es_index import LATEST

    base = f"{mgr.read(kind)}-v{LATEST[kind]}"
    name, n = base, 1
    while mgr.es.indices.exists(index=name):
        n += 1
        name = f"{base}-r{n}"
    mgr.es.indices.create(index=name, **mgr.template(kind))
    return name


def _copy(mgr: IndexManager, kind: str, old: str, new: str, batch_size: int,
          progress: Progress | None) -> tuple[int, int]:
    """Copy every document of `old` into `new` with `create`; returns (created, already there)."""
    es = mgr.es
    total = int(es.count(index=old)["count"])
    properties = set(es.indices.get_mapping(index=new)[new]["mappings"]["properties"])
    created = kept = 0
    pit = es.open_point_in_time(index=old, keep_alive=KEEP_ALIVE)["id"]
    try:
        after: list[Any] | None = None
        while True:
            resp = es.search(pit={"id": pit, "keep_alive": KEEP_ALIVE}, sort=["_shard_doc"], size=batch_size,
                             search_after=after, track_total_hits=False)
            pit = resp.get("pit_id", pit)
            hits = resp["hits"]["hits"]
            if not hits:
                break
            actions = [{"_op_type": "create", "_index": new, "_id": h["_id"],
                        "_source": upgrade(kind, h["_source"], properties)} for h in hits]
            ok, errors = helpers.bulk(es, actions, raise_on_error=False, chunk_size=batch_size)
            failed = errors if isinstance(errors, list) else []
            conflicts = [e for e in failed if e.get("create", {}).get("status") == 409]
            if len(conflicts) < len(failed):
                other = [e for e in failed if e not in conflicts]
                raise StoreError(f"{len(other)} documents of {old} not accepted by {new}: {other[:3]}; "
                                 "reads still use the old index; re-run `dfwatch index migrate` to resume")
            created += int(ok)
            kept += len(conflicts)
            after = hits[-1]["sort"]
            if progress is not None:
                progress(kind, created + kept, total)
    finally:
        es.options(ignore_status=404).close_point_in_time(id=pit)
    return created, kept


def upgrade(kind: str, doc: dict[str, Any], properties: set[str]) -> dict[str, Any]:
    """A document of an older index as the new mapping takes it: derived fields filled in,
    fields the new mapping dropped left out."""
    if kind == "articles":
        from dfwatch.store.prepare import prepare

        doc = prepare(doc)
    elif kind == "figures":
        doc.setdefault("story_id", doc.get("article_id"))
    return {k: v for k, v in doc.items() if k in properties}
