"""Crawl sources as data: `sources.yaml` validated with file/line/field errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from dfwatch.yamlconf import ConfigError, describe_errors, load_yaml

SourceType = Literal["news", "government", "regulator", "ngo", "court", "discovery"]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    type: SourceType
    country: str = Field(pattern=r"^[A-Z]{2}$")
    language: str = Field(pattern=r"^[a-z]{2}$")
    strategy: Literal["feed"]
    urls: list[HttpUrl] = Field(min_length=1)
    verified: bool = False

    @field_validator("urls")
    @classmethod
    def _http_only(cls, urls: list[HttpUrl]) -> list[HttpUrl]:
        for url in urls:
            if url.scheme not in ("http", "https"):
                raise ValueError("only http(s) URLs can be crawled")
        return urls


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source]

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for s in sources:
            if s.id in seen:
                raise ValueError(f"duplicate source id {s.id!r}")
            seen.add(s.id)
        return sources


def load_sources(path: Path) -> dict[str, Source]:
    """All sources of a file by id; ConfigError names the file, line and field on error."""
    located = load_yaml(path)
    try:
        parsed = SourcesFile.model_validate(located.data or {})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, [located])) from None
    return {s.id: s for s in parsed.sources}


def get_source(path: Path, source_id: str) -> Source:
    sources = load_sources(path)
    if source_id not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise ConfigError(f"{path}: no source with id {source_id!r} (known: {known})")
    return sources[source_id]
