"""The label an entity name goes by (ORG, PERSON, GPE, LAW), as Elasticsearch timelines show it.

A label is the name's, not a query's: the one its 10 latest articles give it most often
(`es_query.label_sample_body`). Articles keep their entities as plain objects in `_source`
only (mapping v3), so a label costs a search that reads those articles; over the matching
articles of each timeline, those searches were half of its work. A store therefore keeps the
labels it has read for `TTL` seconds and asks again only for names it has not seen lately.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

TTL = 600.0
SIZE = 4096


class Labels:
    """name -> label, each kept `ttl` seconds, at most `size` names (the least recently read go first);
    `ttl=0` keeps nothing. Shared by a store's threads (the web server's)."""

    def __init__(self, ttl: float = TTL, size: int = SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._kept: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._lock:
            kept = self._kept.get(name)
            if kept is None or kept[0] <= self.clock():
                self._kept.pop(name, None)
                return None
            self._kept.move_to_end(name)
            return kept[1]

    def put(self, name: str, label: str) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._kept[name] = (self.clock() + self.ttl, label)
            self._kept.move_to_end(name)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
