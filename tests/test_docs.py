"""Every command is in the README and every setting in config/defaults.yaml (as Datasette does)."""

from __future__ import annotations

from pathlib import Path

import typer.main
from pydantic import BaseModel

from config import DIR as CONFIG_DIR
from dfwatch.cli import app
from dfwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def command_paths() -> list[str]:
    group = typer.main.get_group(app)
    paths = []
    for name, cmd in group.commands.items():
        subs = getattr(cmd, "commands", None)
        paths += [f"{name} {sub}" for sub in subs] if subs else [name]
    return paths


def setting_names(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names += setting_names(ann, f"{prefix}{name}.")
        else:
            names.append(prefix + name)
    return names


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p for p in command_paths() if f"dfwatch {p}" not in readme]
    assert len(command_paths()) >= 10 and not missing, missing


def test_every_setting_is_in_the_defaults_file() -> None:
    defaults = (CONFIG_DIR / "defaults.yaml").read_text(encoding="utf-8")
    secrets = {"store.elasticsearch_password", "store.elasticsearch_api_key", "store.elasticsearch_username"}
    missing = [n for n in setting_names() if n not in secrets and f"{n.rsplit('.', 1)[-1]}:" not in defaults]
    assert not missing, missing
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(s.split(".")[-1] in readme for s in ("elasticsearch_password", "elasticsearch_api_key"))
