"""Stories: the reports of one event (near-duplicates, rewrites, translations) under one story_id.

A story is named after its first article (the first one dfwatch saw while crawling; the
earliest published after `dfwatch stories rebuild`). A new article joins the story of the
article it best matches, or starts its own. It can only match articles published within
WINDOW (7 days) of it, in stories whose first article is also within WINDOW of it: a
story is the reports of one event, which come within days of the first, and the second
bound stops a story from chaining on through weeks of coverage of a subject.

**The rule** (`cluster.match`), for an article A and a candidate B published at most 7
days apart (WINDOW: a report of the same figures a month later is a new story):

1. *Near-duplicate* (the same text: a syndicated copy, a second URL, another headline, a
   paragraph cut): at least two shared sentences, and half of all their sentences
   (NEAR_DUPLICATE = 0.5) or 80 % of the shorter one's (CONTAINED, a cut copy) in common.
   Sentences, not words: on a topic everyone covers, different reports share words
   (the fixture's English articles share up to 35 % of their content words) but not
   sentences, while a copy shares nearly all of them. A sentence found in 10 or more
   articles of the window (BOILERPLATE: a press room's footer, a standard disclaimer) is
   left out.
2. *Rewrite* (another outlet retelling the same event in its own words), when all hold:
   - a different source: an outlet's second article on a subject is a follow-up, and a
     press room's releases repeat their boilerplate;
   - word similarity ≥ 0.12 (REWRITE): at least the vocabulary of one subject. Words alone
     cannot decide: the two seed reports share 20 % of their content words, while the Asia
     Wire seed shares 23 % with the police's release of the same day and 27 % with its
     own outlet's report of the law a month later;
   - a shared *actor*: a person or organisation named in both titles or in both texts' first
     300 characters (LEAD_CHARS), messaging platforms left out. A report's first sentence
     says who did what; "Telegram" and "South Korea" are where, shared by every story of
     the scandal. A lone surname folds into the article's full name ("Yoon" → "Yoon Suk Yeol");
   - the same facts: ≥ 2 shared figures (MIN_SHARED_FIGURES; value and unit, "297 cases",
     "220000 members": not the measure, since one article's "113 of those charged" is
     another's "113 cases"), or, for stories without figures, titles sharing ≥ 30 % of
     their words (TITLE_OVERLAP).
3. *Translation* (another language, so no shared words): published ≤ 1 day apart, ≥ 3
   shared figures, and PERSON/ORG/GPE names (folded across languages by the gazetteer)
   with Jaccard ≥ 0.5. These candidates come from an index of figures, not the LSH.

Candidates come from a datasketch MinHashLSH over the word signatures of the window
(threshold 0.1: 64 bands of 2 rows, so a pair at similarity 0.2 collides with probability
0.93); the 50 most similar (MAX_CHECKED) are checked, and the best match wins
(near-duplicate over rewrite over translation, then similarity, shared figures, and
the earlier article).

On the fixture web this makes three stories of more than one article: the seed reports of
Yoon's order (Hanbit Times 28 Aug, Asia Wire 29 Aug: actor Yoon Suk Yeol, figures 297, 180,
220,000); the police's Korean and English releases of 28 August (a translation); the
Assembly's possession bill (Hanbit Times 26 Sep; Asia Wire and the police 27 Sep). The
police's English release of 28 August shares five figures with the Asia Wire seed but no
actor (the KNPA launches a crackdown; Yoon ordered one), so it stays apart; so do
Durov's arrest (Telegram is no actor) and every decoy.
"""

from dfwatch.stories.cluster import WINDOW, StoryIndex, match
from dfwatch.stories.features import Features, decode_signature, encode_signature, features

__all__ = ["WINDOW", "Features", "StoryIndex", "decode_signature", "encode_signature", "features", "match"]
