"""Load spaCy pipelines from installed packages only (never from a hub), once per process."""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language


class ModelNotInstalled(RuntimeError):
    pass


@lru_cache(maxsize=4)
def load_pipeline(name: str, disable: tuple[str, ...] = ()) -> Language:
    """spacy.load an installed model package by name, with unused components disabled."""
    try:
        return spacy.load(name, disable=list(disable))
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy model package {name!r} is not installed (set nlp.model, or "
            f"`pip install {name.replace('_', '-')}`): {exc}"
        ) from None
