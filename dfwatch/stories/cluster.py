"""The story rule, and the window of recent articles a new article is matched against."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from dfwatch.stories.features import NUM_PERM, Features

WINDOW = timedelta(days=7)
LSH_THRESHOLD = 0.1
NEAR_DUPLICATE = 0.5  # of their sentences
CONTAINED = 0.8  # of the shorter one's sentences
BOILERPLATE = 10  # a sentence in this many articles of the window is boilerplate, not evidence of a copy
REWRITE = 0.12
MIN_SHARED_FIGURES = 2
TITLE_OVERLAP = 0.3
TRANSLATION_WINDOW = timedelta(days=1)
TRANSLATION_FIGURES = 3
TRANSLATION_ENTITIES = 0.5
MAX_CHECKED = 50  # candidates checked per article, most similar first

KINDS = ("translation", "rewrite", "near_duplicate")  # weakest first


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def similarity(a: LeanMinHash, b: LeanMinHash) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a.hashvalues == b.hashvalues)) / len(a.hashvalues)


def near_duplicate(a: Features, b: Features, seen: Mapping[int, int] | None = None) -> bool:
    """The same text: two or more sentences in common, and half of all their sentences or 80 % of the
    shorter one's (a cut copy). Sentences `seen` in BOILERPLATE or more articles are left out."""
    if seen:
        mine = {k for k in a.sentences if seen.get(k, 0) < BOILERPLATE}
        theirs = {k for k in b.sentences if seen.get(k, 0) < BOILERPLATE}
    else:
        mine, theirs = set(a.sentences), set(b.sentences)
    shared = len(mine & theirs)
    return shared >= 2 and (shared >= NEAR_DUPLICATE * len(mine | theirs)
                            or shared >= CONTAINED * min(len(mine), len(theirs)))


def match(a: Features, b: Features, seen: Mapping[int, int] | None = None) -> str | None:
    """How `a` reports the same event as `b` ("near_duplicate", "rewrite", "translation"), or None.

    `seen` counts the window's articles by sentence (see near_duplicate).
    """
    apart = abs(a.at - b.at)
    if apart > WINDOW:
        return None
    if a.language != b.language and a.language and b.language:
        if (apart <= TRANSLATION_WINDOW and len(a.figures & b.figures) >= TRANSLATION_FIGURES
                and jaccard(a.entities, b.entities) >= TRANSLATION_ENTITIES):
            return "translation"
        return None
    if near_duplicate(a, b, seen):
        return "near_duplicate"
    if a.source == b.source or similarity(a.signature, b.signature) < REWRITE or not a.actors & b.actors:
        return None
    if len(a.figures & b.figures) >= MIN_SHARED_FIGURES or jaccard(a.title_words, b.title_words) >= TITLE_OVERLAP:
        return "rewrite"
    return None


class StoryIndex:
    """Articles of the recent window with their stories: a MinHashLSH over their signatures for
    candidates in the same language, and an inverted index of figures for translations."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self.articles: dict[str, Features] = {}
        self.story: dict[str, str] = {}  # article id -> story id
        self.by_figure: dict[str, set[str]] = defaultdict(set)
        self.sentences: Counter[int] = Counter()  # articles of the window by sentence
        self.members: Counter[str] = Counter()  # articles of the window by story
        self.started: dict[str, datetime] = {}  # story id -> its earliest article's time
        self._by_time: list[tuple[datetime, str]] = []  # heap; stale entries skipped on eviction

    def __len__(self) -> int:
        return len(self.articles)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.articles

    def add(self, f: Features, story_id: str) -> None:
        if f.id in self.articles:
            self.remove(f.id)
        self.articles[f.id] = f
        self.story[f.id] = story_id
        self.members[story_id] += 1
        self.started[story_id] = min(self.started.get(story_id, f.at), f.at)
        self.lsh.insert(f.id, f.signature, check_duplication=False)
        for key in f.figures:
            self.by_figure[key].add(f.id)
        self.sentences.update(f.sentences)
        heapq.heappush(self._by_time, (f.at, f.id))

    def remove(self, article_id: str) -> None:
        f = self.articles.pop(article_id)
        story_id = self.story.pop(article_id)
        self.members[story_id] -= 1
        if not self.members[story_id]:
            del self.members[story_id], self.started[story_id]
        self.lsh.remove(article_id)
        for key in f.figures:
            ids = self.by_figure[key]
            ids.discard(article_id)
            if not ids:
                del self.by_figure[key]
        self.sentences.subtract(f.sentences)
        for sentence in f.sentences:
            if self.sentences[sentence] <= 0:
                del self.sentences[sentence]

    def evict_before(self, at: datetime) -> int:
        """Forget articles published before `at`; returns how many."""
        evicted = 0
        while self._by_time and self._by_time[0][0] < at:
            when, article_id = heapq.heappop(self._by_time)
            f = self.articles.get(article_id)
            if f is not None and f.at == when:
                self.remove(article_id)
                evicted += 1
        return evicted

    def best_match(self, f: Features) -> tuple[str, str] | None:
        """(story id, kind of match) of the window's article that best reports the same event as `f`."""
        best: tuple[tuple[int, float, int, float], str, str] | None = None
        for other, close in self._candidates(f):
            if abs(f.at - self.started[self.story[other.id]]) > WINDOW:
                continue  # a story is one event: its reports come within a week of the first
            kind = match(f, other, self.sentences)
            if kind is not None:
                rank = (KINDS.index(kind), close, len(f.figures & other.figures), -other.at.timestamp())
                if best is None or rank > best[0]:
                    best = (rank, self.story[other.id], kind)
        return (best[1], best[2]) if best else None

    def _candidates(self, f: Features) -> list[tuple[Features, float]]:
        """The MAX_CHECKED most similar articles the LSH finds, and the MAX_CHECKED articles in other
        languages sharing the most figures with `f`, each with its similarity to `f`."""
        ids = sorted(i for i in self.lsh.query(f.signature) if i != f.id)
        if len(f.figures) >= TRANSLATION_FIGURES:
            shared = Counter(i for key in f.figures for i in self.by_figure.get(key, ()) if i != f.id)
            foreign = sorted((-n, i) for i, n in shared.items()
                             if n >= TRANSLATION_FIGURES and self.articles[i].language != f.language)
            ids += [i for _, i in foreign[:MAX_CHECKED] if i not in ids]
        if not ids:
            return []
        close = (np.stack([self.articles[i].signature.hashvalues for i in ids]) == f.signature.hashvalues).mean(axis=1)
        top = np.argsort(-close, kind="stable")[:MAX_CHECKED]
        picked = {int(k) for k in top} | {k for k, i in enumerate(ids) if self.articles[i].language != f.language}
        return [(self.articles[ids[k]], float(close[k])) for k in sorted(picked)]

    def assign(self, f: Features, story_id: str | None = None) -> str:
        """Add `f` to the window in the story it belongs to and return that story's id.

        `story_id` (an article's stored story) is kept when given; otherwise `f` joins the story
        of its best match, or starts its own story, named after itself.
        """
        if story_id is None and f.id in self.story:
            story_id = self.story[f.id]  # an updated article stays in its story
        if story_id is None:
            found = self.best_match(f)
            story_id = found[0] if found else f.id
        self.add(f, story_id)
        return story_id
