"""YAML files that remember where each key stood, so errors name the file, line and field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigError(Exception):
    """A configuration file or variable is wrong; the message says where and why."""


@dataclass
class LocatedYaml:
    """Parsed YAML plus the 1-based line of every key path, e.g. ("store", "bulk_size") -> 12."""

    path: Path
    data: Any
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of the deepest key of `loc` that the file holds."""
        loc = tuple(loc)
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return None


def load_yaml(path: Path) -> LocatedYaml:
    """Parse a YAML file; a syntax error becomes a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {exc.problem or exc}") from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    return LocatedYaml(path, data, lines)


def _walk(node: yaml.Node, prefix: tuple[str | int, ...], out: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            out[key] = key_node.start_mark.line + 1
            _walk(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = (*prefix, i)
            out[key] = item.start_mark.line + 1
            _walk(item, key, out)


def describe_errors(
    exc: ValidationError,
    files: list[LocatedYaml],
    env_names: Mapping[tuple[str, ...], str] | None = None,
    loc_prefix: tuple[str | int, ...] = (),
) -> str:
    """One line per validation error: `FILE:LINE: field 'a.b': message (got …)`.

    `files` are searched last-first (the file that overrode a key is the one to blame);
    `env_names` maps key paths that came from the environment to their variable names.
    """
    out = []
    for err in exc.errors():
        loc = (*loc_prefix, *err["loc"])
        dotted = ".".join(str(p) for p in loc)
        where = _where(loc, files, env_names or {})
        got = ""
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
            got = f" (got {err['input']!r})"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{where}: field '{dotted}': {msg}{got}")
    return "\n".join(out)


def _where(loc: tuple, files: list[LocatedYaml], env_names: Mapping[tuple, str]) -> str:
    str_loc = tuple(str(p) for p in loc)
    for n in range(len(str_loc), 0, -1):
        if str_loc[:n] in env_names:
            return f"environment variable {env_names[str_loc[:n]]}"
    for f in reversed(files):
        if tuple(loc) in f.lines:
            return f"{f.path}:{f.lines[tuple(loc)]}"
    for f in reversed(files):
        line = f.line_of(loc)
        if line is not None:
            return f"{f.path}:{line}"
    return str(files[-1].path) if files else "configuration"


def check_timezone(name: str) -> str:
    """A pydantic validator body for IANA zone names in config files (sources, subscriptions)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone; use an IANA name such as Asia/Seoul") from None
    return name
