"""On-disk spool: documents the store could not take wait here as JSONL until replayed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dfwatch.store.base import Store

GROUP_BYTES = 32 * 2**20  # spool files replayed through one upsert: a few thousand articles


class Spool:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def write(self, docs: list[dict[str, Any]]) -> Path:
        """Append-safe: each batch goes to its own file, renamed into place when complete."""
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}.jsonl"
        tmp = self.dir / (name + ".part")
        with tmp.open("w", encoding="utf-8") as fh:
            for doc in docs:
                fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
        final = self.dir / name
        tmp.rename(final)
        return final

    def files(self) -> list[Path]:
        return sorted(self.dir.glob("*.jsonl")) if self.dir.is_dir() else []

    def pending(self) -> int:
        return sum(1 for f in self.files() for _ in _lines(f))

    def replay(self, store: Store) -> int:
        """Write every spooled batch to the store, oldest first; a file is deleted only after it is written.

        Files go in groups of about GROUP_BYTES, each group streamed through one `upsert`, so a
        long replay does not wait for the store between small files (es_bulk.Sender). A failure
        keeps every file of the group it hit; writing them again is harmless (upsert by id)."""
        written = 0
        files = self.files()
        while files:
            group: list[Path] = []
            size = 0
            while files and (not group or size + files[0].stat().st_size <= GROUP_BYTES):
                size += files[0].stat().st_size
                group.append(files.pop(0))
            written += store.upsert(json.loads(line) for path in group for line in _lines(path))
            for path in group:
                path.unlink()
        return written


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        yield from (line for line in fh if line.strip())
