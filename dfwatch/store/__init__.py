"""Stores: Elasticsearch when a URL is configured, else the embedded SQLite store."""

from __future__ import annotations

from dfwatch.settings import Settings
from dfwatch.store.base import Store, StoreError

__all__ = ["Store", "StoreError", "open_store"]


def open_store(settings: Settings) -> Store:
    if settings.store.backend == "elasticsearch":
        from dfwatch.store.elastic import ElasticsearchStore

        return ElasticsearchStore.from_settings(settings.store)
    from dfwatch.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_file)
