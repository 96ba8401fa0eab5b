"""The versioned gazetteer: aliases in English and Korean folded into one canonical entity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Korean particles and endings that may follow a name ("경찰청은", "텔레그램에서")
KO_PARTICLES = ("에서는", "에서도", "으로부터", "로부터", "에서", "에게", "에는", "에도", "과의", "와의", "이나", "이라", "으로",
                "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도", "로", "만", "측", "서")


@dataclass(frozen=True)
class GazetteerEntry:
    name: str
    label: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Gazetteer:
    version: int
    entries: tuple[GazetteerEntry, ...]

    def alias_index(self) -> dict[str, GazetteerEntry]:
        return {alias: e for e in self.entries for alias in e.aliases}

    def spacy_patterns(self) -> list[dict[str, object]]:
        """EntityRuler phrase patterns for the Latin-script aliases, with the canonical name as id."""
        return [{"label": e.label, "pattern": a, "id": e.name}
                for e in self.entries for a in e.aliases if not HANGUL.search(a)]

    def find_korean(self, text: str) -> list[tuple[int, int, GazetteerEntry]]:
        """Hangul alias mentions (longest first), at word starts, before a particle or a break."""
        found: list[tuple[int, int, GazetteerEntry]] = []
        for alias, entry in sorted(self.alias_index().items(), key=lambda kv: -len(kv[0])):
            if not HANGUL.search(alias):
                continue
            for m in re.finditer(re.escape(alias), text):
                s, e = m.span()
                if s > 0 and HANGUL.match(text[s - 1]):
                    continue
                rest = text[e:e + 4]
                if rest and HANGUL.match(rest[0]) and not rest.startswith(KO_PARTICLES):
                    continue
                if any(fs < e and s < fe for fs, fe, _ in found):
                    continue
                found.append((s, e, entry))
        return sorted(found, key=lambda t: t[0])


@lru_cache(maxsize=2)
def load_gazetteer(version: int = 1) -> Gazetteer:
    raw = yaml.safe_load((DATA / f"gazetteer.v{version}.yaml").read_text(encoding="utf-8"))
    entries = tuple(GazetteerEntry(e["name"], e["label"], tuple(e["aliases"])) for e in raw["entries"])
    return Gazetteer(raw["version"], entries)
