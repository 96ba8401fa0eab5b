"""Spool replay: files stream through the store in groups, and a file is deleted only once written."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import synthetic
from dfwatch import spool as spool_module
from dfwatch.spool import Spool
from dfwatch.store.base import StoreError
from dfwatch.store.sqlite import SqliteStore


class Flaky:
    """A SQLite store whose upsert fails on call `fail_on` (counting from 1), after reading its first document."""

    def __init__(self, store: SqliteStore, fail_on: int) -> None:
        self.store, self.fail_on, self.calls = store, fail_on, 0
        self.groups: list[int] = []

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        self.calls += 1
        if self.calls == self.fail_on:
            next(iter(docs))
            raise StoreError("the store went away")
        given = list(docs)
        self.groups.append(len(given))
        return self.store.upsert(given)


def test_replay_groups_files_and_keeps_those_of_a_failed_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = list(synthetic.articles(30, seed=4))
    spool = Spool(tmp_path / "spool")
    files = [spool.write(docs[i:i + 5]) for i in range(0, 30, 5)]  # six files of five articles
    largest = max(f.stat().st_size for f in files)
    monkeypatch.setattr(spool_module, "GROUP_BYTES", 2 * largest)  # two files a group, never three
    store = SqliteStore(tmp_path / "store.sqlite3")
    flaky = Flaky(store, fail_on=2)
    with pytest.raises(StoreError, match="went away"):
        spool.replay(flaky)  # type: ignore[arg-type]  # only upsert is used
    assert flaky.groups == [10] and spool.files() == files[2:]  # the first group written and deleted
    assert store.count() == 10
    again = Flaky(store, fail_on=0)
    assert spool.replay(again) == 20  # type: ignore[arg-type]
    assert again.groups == [10, 10] and spool.files() == [] and store.count() == 30
    store.close()
