"""One shared Kiwi (Korean morphological analyser), loaded once, with dfwatch's domain words."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

DOMAIN_WORDS = {"딥페이크": "NNG", "허위영상물": "NNG", "불법합성물": "NNG", "성착취물": "NNG",
                "텔레그램": "NNP", "방심위": "NNP"}


@lru_cache(maxsize=1)
def kiwi() -> Any:
    from kiwipiepy import Kiwi

    analyser = Kiwi()
    for word, tag in DOMAIN_WORDS.items():
        analyser.add_user_word(word, tag)
    return analyser
