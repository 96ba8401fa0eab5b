"""The web app: the JSON API (and, later, the web UI's pages) over the search layer."""

from dfwatch.web.app import create_app
from dfwatch.web.auth import KeyRequired

__all__ = ["KeyRequired", "create_app"]
