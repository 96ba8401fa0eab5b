"""Offline fixture web: fictional news and government sites served on 127.0.0.1."""

from .catalog import ARTICLES, FixtureArticle, articles
from .server import SITES, FixtureWeb, Site, main

__all__ = ["ARTICLES", "SITES", "FixtureArticle", "FixtureWeb", "Site", "articles", "main"]
