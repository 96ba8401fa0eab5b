"""dfwatch's default configuration: data files only (YAML settings and sources, index templates)."""

from pathlib import Path

DIR = Path(__file__).resolve().parent
