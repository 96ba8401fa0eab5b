"""Settings: bundled defaults < user file < DFWATCH_* environment, validated by pydantic.

Every setting is declared once here with its type; `config/defaults.yaml` holds the
default values and their help. Nothing is read at import time: call `load_settings()`.
"""

from __future__ import annotations

import os
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config import DIR as CONFIG_DIR
from dfwatch.yamlconf import ConfigError, LocatedYaml, describe_errors, load_yaml

ENV_PREFIX = "DFWATCH_"
USER_FILE_ENV = "DFWATCH_CONFIG"
SECRET_SUFFIXES = ("password", "api_key", "secret", "token")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    elasticsearch_url: str | None = None
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None  # environment only
    elasticsearch_api_key: SecretStr | None = None  # environment only
    index_prefix: str = Field(default="dfwatch", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    sqlite_path: Path | None = None
    bulk_size: int = Field(default=200, ge=1, le=10_000)
    request_timeout: float = Field(default=30, gt=0)
    number_of_shards: int = Field(default=1, ge=1, le=1024)  # new indices only
    number_of_replicas: int = Field(default=0, ge=0, le=16)

    @property
    def backend(self) -> Literal["elasticsearch", "sqlite"]:
        return "elasticsearch" if self.elasticsearch_url else "sqlite"


class CrawlSettings(_Section):
    user_agent: str
    contact_url: str
    download_delay: float = Field(ge=0)
    concurrent_per_domain: int = Field(ge=1, le=2)
    download_timeout: float = Field(gt=0)
    max_page_bytes: int = Field(ge=10_000)
    retry_times: int = Field(ge=0, le=10)
    retry_backoff: float = Field(ge=0, le=600)
    max_retry_after: float = Field(ge=0, le=3600)
    max_redirects: int = Field(ge=0, le=20)
    allow_loopback: bool
    incremental: bool
    recheck_days: float = Field(ge=0, le=3650)

    @property
    def full_user_agent(self) -> str:
        return self.user_agent.replace("{contact_url}", self.contact_url)


class NlpSettings(_Section):
    model: str
    batch_size: int = Field(ge=1, le=10_000)
    flush_seconds: float = Field(gt=0)
    processes: int = Field(default=0, ge=0, le=64)  # NLP worker processes per crawl; 0: a thread of the crawl


class RelevanceSettings(_Section):
    rules_version: int = Field(default=1, ge=1)
    threshold: float = 2.5


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_key: SecretStr | None = None  # environment only
    max_exports: int = Field(default=4, ge=1, le=64)

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, key: SecretStr | None) -> SecretStr | None:
        """Clients send the key in a header: visible ASCII, and long enough not to be guessed."""
        value = key.get_secret_value() if key else ""
        if not value:
            return None
        if len(value) < 16 or not all(33 <= ord(c) < 127 for c in value):
            raise ValueError("an API key is at least 16 visible ASCII characters (no spaces)")
        return key


class DigestSettings(_Section):
    subscriptions_file: Path | None = None  # None = the bundled config/subscriptions.yaml
    from_address: str = Field(default="dfwatch <dfwatch@localhost>", min_length=3)
    reply_to: str | None = None
    unsubscribe_mailto: str | None = None  # None = the From address
    unsubscribe_url: str | None = Field(default=None, pattern=r"^https://\S+$")  # {subscription} is filled in
    max_stories: int = Field(default=25, ge=1, le=200)  # stories shown in full; the rest are listed by title
    chart_bars: int = Field(default=30, ge=7, le=120)  # days (daily digests) or weeks (weekly)

    @field_validator("from_address", "reply_to", "unsubscribe_mailto")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError("write an email address, e.g. 'dfwatch <digest@example.org>'")
        return value


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None  # environment only
    ca_file: Path | None = None  # also trust this CA bundle (a private relay)
    timeout: float = Field(default=30, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=5.0, ge=0, le=600)


class ScheduleSettings(_Section):
    """`dfwatch schedule`: the long-running service (docs/scheduler.md)."""

    jobstore_url: str | None = None  # None = sqlite:///<data_dir>/schedule.sqlite3
    jobstore_password: SecretStr | None = None  # environment only
    workers: int = Field(default=4, ge=1, le=64)  # jobs running at once
    misfire_grace_time: int = Field(default=600, ge=1, le=86_400)  # seconds
    crawl_timeout: float = Field(default=3600, gt=0, le=86_400)  # seconds
    kill_grace: float = Field(default=15, ge=0, le=600)  # seconds between SIGTERM and SIGKILL
    stop_grace: float = Field(default=60, ge=0, le=3600)  # seconds running jobs get at shutdown
    housekeeping_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)  # 0 = no housekeeping job
    digest_retry_minutes: int = Field(default=15, ge=0, le=24 * 60)  # 0 = wait for the next send time
    keep_days: int = Field(default=90, ge=1, le=3650)  # job outcomes kept this long
    clock_speed: int = Field(default=1, ge=1, le=100_000)  # tests and demos: schedule time runs this much faster

    @field_validator("jobstore_url")
    @classmethod
    def _no_password_in_url(cls, url: str | None) -> str | None:
        from urllib.parse import urlsplit

        if url and "://" in url and urlsplit(url).password:
            raise ValueError("put the password in DFWATCH_SCHEDULE__JOBSTORE_PASSWORD, not in the URL")
        return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    data_dir: Path
    sources_file: Path | None = None
    store: StoreSettings
    crawl: CrawlSettings
    nlp: NlpSettings
    relevance: RelevanceSettings
    web: WebSettings = WebSettings()
    digest: DigestSettings = DigestSettings()
    smtp: SmtpSettings = SmtpSettings()
    schedule: ScheduleSettings = ScheduleSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment beats the files

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser()

    @property
    def sqlite_file(self) -> Path:
        return (self.store.sqlite_path or self.data_path / "dfwatch.sqlite3").expanduser()

    @property
    def state_file(self) -> Path:
        """Crawl state: the seen-store of pages and the log of crawl runs."""
        return self.data_path / "state.sqlite3"

    @property
    def subscriptions_path(self) -> Path:
        return (self.digest.subscriptions_file or CONFIG_DIR / "subscriptions.yaml").expanduser()

    @property
    def sources_path(self) -> Path:
        return (self.sources_file or CONFIG_DIR / "sources.yaml").expanduser()


def user_file(explicit: Path | None = None) -> Path | None:
    """The user settings file: --config, else $DFWATCH_CONFIG, else ./dfwatch.yaml if present."""
    if explicit is not None:
        return explicit
    if os.environ.get(USER_FILE_ENV):
        return Path(os.environ[USER_FILE_ENV])
    local = Path("dfwatch.yaml")
    return local if local.is_file() else None


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate settings; raise ConfigError naming file, line and field."""
    files = [load_yaml(CONFIG_DIR / "defaults.yaml")]
    chosen = user_file(path)
    if chosen is not None:
        files.append(load_yaml(chosen))
    merged: dict[str, Any] = {}
    for f in files:
        if f.data is None:
            continue
        if not isinstance(f.data, dict):
            raise ConfigError(f"{f.path}:1: expected a mapping of settings, got {type(f.data).__name__}")
        if f is not files[0]:
            _refuse_secrets(f, f.data, ())
        _deep_merge(merged, f.data)
    _deep_merge(merged, overrides)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, files, _env_names())) from None


def _refuse_secrets(f: LocatedYaml, data: dict, prefix: tuple[str, ...]) -> None:
    for key, value in data.items():
        loc = (*prefix, str(key))
        if isinstance(value, dict):
            _refuse_secrets(f, value, loc)
        elif str(key).lower().endswith(SECRET_SUFFIXES) and value is not None:
            env = ENV_PREFIX + "__".join(loc).upper()
            raise ConfigError(
                f"{f.path}:{f.line_of(loc)}: field '{'.'.join(loc)}': secrets are read only "
                f"from the environment; remove it from the file and set {env}"
            )


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _env_names() -> dict[tuple[str, ...], str]:
    names = {}
    for var in os.environ:
        if var.upper().startswith(ENV_PREFIX) and var.upper() != USER_FILE_ENV:
            path = tuple(p.lower() for p in var[len(ENV_PREFIX):].split("__"))
            names[path] = var
    return names
