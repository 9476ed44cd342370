"""Near-duplicate detection against the corporate content library: exact shingles plus a content-word measure.

Two measures of *containment* of a post in a corporate text ("how much of this post comes from corporate
content?"):

* **Shingle containment** |S(post) ∩ S(corp)| / |S(post)| over word 3-shingles. Exact and strict: it
  catches verbatim and lightly edited pastes (a changed word removes at most three shingles) while common
  word pairs ("in de", "of the") do not match on their own. The denominator is at least ``MIN_SHINGLES``
  so that a short post sharing a stock phrase ("dank jullie wel") cannot become a 100 % duplicate.
* **Lexical containment**: the idf-weighted share of the post's content features (light stems of content
  words after stopword removal, plus bigrams of consecutive content stems) that occur in the corporate
  text. It survives paraphrase: reordered clauses, changed function words, inflections, dropped
  sentences. Weights are ``ln(1 + N / df)`` over the library of N texts, so a word every corporate text
  uses ("Hoogland", "clients") counts less than a distinctive one ("CloudNorth", "2030"); a feature the
  library does not contain weighs as much as the rarest library feature. A post with fewer than
  ``MIN_CONTENT_WORDS`` distinct content stems is padded with phantom unmatched words (a unigram and a
  bigram each), for the same reason as ``MIN_SHINGLES``.

The similarity of a post to a text is the larger of the two; the best match is the text with the largest
similarity (``plugin.domain.classify`` adds a sentence-level measure on top). Why not Jaccard or MinHash:
Jaccard punishes a post that pastes only half of a long press release; MinHash estimates Jaccard and buys
speed only for many-to-many comparison of large documents, whereas here one post is looked up at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from math import log
from typing import NamedTuple

from plugin.domain.crosslingual import CrossIndex
from plugin.domain.text import content_stems, parse_body, tokens

SHINGLE_SIZE = 3
MIN_SHINGLES = 10
MIN_CONTENT_WORDS = 10

Shingle = tuple[str, ...]
Feature = str | tuple[str, str]


def normalised_tokens(text: str) -> list[str]:
    """Tokens used for shingling: HTML, URLs and mentions removed, lower-cased, '#' dropped."""
    return [t.lstrip("#") for t in tokens(parse_body(text).own)]


def shingles(word_tokens: Sequence[str], size: int = SHINGLE_SIZE) -> set[Shingle]:
    """The set of consecutive word n-grams (n = size) of a token sequence."""
    return {tuple(word_tokens[i : i + size]) for i in range(len(word_tokens) - size + 1)}


def lexical_features(stems: Sequence[str]) -> set[Feature]:
    """Content stems (unigrams) and pairs of consecutive content stems (bigrams)."""
    features: set[Feature] = set(stems)
    features.update(zip(stems, stems[1:], strict=False))
    return features


class Match(NamedTuple):
    """The best-matching corporate text for a post and how much of the post it contains."""

    similarity: float
    text_id: int | None
    shingle: float = 0.0
    lexical: float = 0.0


NO_MATCH = Match(0.0, None)


class CorporateIndex:
    """Prepared corporate texts: everything a look-up needs is precomputed once per library.

    Per text: its set of shingles, its set of content features, its set of content stems and (``cross``) its
    language and language-neutral keys; per feature:
    the idf weight and, for features in at most ``max(CANDIDATE_DF, N / 10)`` texts, the ids of the texts
    holding it (inverted index). A look-up counts, per text, the shared features of that index (in C,
    through ``Counter``), keeps the ``CANDIDATES`` texts sharing most, and scores only those, exactly and
    with all features. A text the post was pasted or paraphrased from shares more of its distinctive
    words than any other text; words that a tenth of the library uses do not tell texts apart, and
    leaving them out of the candidate count keeps a look-up cheap in a large library (a post made of such
    words only matches no text in particular).
    """

    __slots__ = (
        "_candidates",
        "cross",
        "_feature_sets",
        "_shingle_sets",
        "_stems",
        "_unseen",
        "_weights",
        "size",
        "texts",
    )

    CANDIDATES = 3
    CANDIDATE_DF = 20

    def __init__(self, texts: Iterable[str], *, size: int = SHINGLE_SIZE) -> None:
        self.texts: tuple[str, ...] = tuple(texts)
        self.size = size
        features: dict[Feature, list[int]] = {}
        shingle_sets: list[frozenset[Shingle]] = []
        feature_sets: list[frozenset[Feature]] = []
        stem_sets: list[frozenset[str]] = []
        for text_id, text in enumerate(self.texts):
            words = normalised_tokens(text)
            shingle_sets.append(frozenset(shingles(words, size)))
            stems = content_stems(words)
            stem_sets.append(frozenset(stems))
            text_features = lexical_features(stems)
            feature_sets.append(frozenset(text_features))
            for feature in text_features:
                features.setdefault(feature, []).append(text_id)
        count = len(self.texts)
        max_df = max(self.CANDIDATE_DF, count // 10)
        self._candidates: dict[Feature, tuple[int, ...]] = {
            k: tuple(v) for k, v in features.items() if len(v) <= max_df
        }
        self._weights: dict[Feature, float] = {k: log(1 + count / len(v)) for k, v in features.items()}
        self._unseen = log(1 + count)  # a feature outside the library weighs as much as the rarest one
        self._shingle_sets: tuple[frozenset[Shingle], ...] = tuple(shingle_sets)
        self._feature_sets: tuple[frozenset[Feature], ...] = tuple(feature_sets)
        self._stems: tuple[frozenset[str], ...] = tuple(stem_sets)
        # Language-neutral keys for translations (plugin.domain.crosslingual).
        self.cross = CrossIndex(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def best_match(self, word_tokens: Sequence[str]) -> tuple[float, int | None]:
        """Highest similarity (0..1) of the token sequence to one corporate text, and that text's index."""
        found = self.match(word_tokens)
        return found.similarity, found.text_id

    def match(self, word_tokens: Sequence[str]) -> Match:
        """The corporate text containing most of the token sequence, by max(shingle, lexical) containment."""
        words = [t[1:] if t[0] == "#" else t for t in word_tokens]
        stems = content_stems(words)
        features = lexical_features(stems)
        weights = self._weights
        known = weights.keys() & features
        if not known:
            return NO_MATCH
        # Phantom unmatched words for a short post, each bringing a unigram and a bigram.
        padding = 2 * max(0, MIN_CONTENT_WORDS - len(set(stems)))
        total = sum(map(weights.__getitem__, known)) + (len(features) - len(known) + padding) * self._unseen
        postings = self._candidates
        distinctive = postings.keys() & features
        hits = Counter(chain.from_iterable(map(postings.__getitem__, distinctive)))
        if not hits:
            return NO_MATCH

        post_shingles = shingles(words, self.size)
        shingle_denominator = max(len(post_shingles), MIN_SHINGLES)
        best = NO_MATCH
        for text_id in sorted(t for t, _ in hits.most_common(self.CANDIDATES)):
            shingle = len(post_shingles & self._shingle_sets[text_id]) / shingle_denominator
            lexical = sum(map(weights.__getitem__, known & self._feature_sets[text_id])) / total
            if max(shingle, lexical) > best.similarity:
                best = Match(max(shingle, lexical), text_id, shingle, lexical)
        return best

    def stem_containment(self, word_tokens: Sequence[str], text_id: int) -> tuple[float, int]:
        """Share of the distinct content stems of the tokens found in one corporate text, and their number."""
        stems = set(content_stems(word_tokens))
        if not stems:
            return 0.0, 0
        return len(stems & self._stems[text_id]) / len(stems), len(stems)


@lru_cache(maxsize=32)
def corporate_index(texts: tuple[str, ...]) -> CorporateIndex:
    """A cached CorporateIndex for a tuple of corporate texts (built once per distinct library)."""
    return CorporateIndex(texts)
