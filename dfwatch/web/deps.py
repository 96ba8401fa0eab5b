"""The app's one SearchService, shared by the API and the web UI's pages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from dfwatch.search import SearchService


class ServiceHolder:
    """Opens the service once (at startup, or on first use if the store was down then); closes it at shutdown."""

    def __init__(self, open_service: Callable[[], SearchService]) -> None:
        self._open = open_service
        self._service: SearchService | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchService:
        service = self._service
        if service is None:
            with self._lock:
                if self._service is None:
                    self._service = self._open()
                service = self._service
        return service

    def close(self) -> None:
        with self._lock:
            if self._service is not None:
                self._service.close()
                self._service = None


def get_service(request: Request) -> SearchService:
    """Dependency: the app's SearchService (a StoreError here is answered 503)."""
    holder: ServiceHolder = request.app.state.services
    return holder.get()
