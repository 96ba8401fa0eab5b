from __future__ import annotations

from pathlib import Path

import pytest

from config import DIR as CONFIG_DIR
from dfwatch.sources import get_source, load_sources
from dfwatch.yamlconf import ConfigError


def test_bundled_sources_are_valid() -> None:
    sources = load_sources(CONFIG_DIR / "sources.yaml")
    assert len(sources) >= 4
    assert all(not s.verified for s in sources.values())  # none crawled live yet
    assert {s.language for s in sources.values()} >= {"en", "ko"}


def test_bad_source_names_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "sources.yaml"
    f.write_text(
        "sources:\n"
        "  - id: ok-one\n    name: One\n    type: news\n    country: KR\n    language: en\n"
        "    strategy: feed\n    urls: ['https://example.org/rss']\n"
        "  - id: two\n    name: Two\n    type: blog\n    country: KR\n    language: en\n"
        "    strategy: feed\n    urls: ['https://example.org/rss']\n"
    )
    with pytest.raises(ConfigError, match=r"sources\.yaml:11: field 'sources\.1\.type'"):
        load_sources(f)


def test_unknown_source_id_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no source with id 'nope'.*yonhap-en"):
        get_source(CONFIG_DIR / "sources.yaml", "nope")
