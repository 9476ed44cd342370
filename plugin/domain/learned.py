"""A learned second opinion on knowledge sharing: logistic regression over the rules' features and the author's words.

The rules (``plugin.domain.classify`` and ``plugin.domain.genre``) look for cues any speaker would list; on posts
written by people they were never shown, they miss lessons phrased in words their lexicons lack and take some
status reports for lessons. This model weighs the same evidence the rules compute (lengths, links and files,
genre scores, the rules' own verdict) together with which words the author uses, with weights learned from
labelled posts by ``scripts/train_classifier.py``. It never sees the held-out sets that measure it (the model file
lists what it was trained on and a test checks that list).

The model only moves a post across the rules' line with some confidence: a post the rules call knowledge sharing
stays so unless the model's probability is below ``confirm``; a post the rules reject becomes knowledge sharing only
from ``promote`` and when it shares something (a link, a file, a forwarded message or a view of its own). Broadcasts
and posts shorter than the note length are never promoted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

MODEL_FILE = Path(__file__).with_name("ks_model.json")
#: The genres the rules decide (see plugin.domain.genre); one indicator each.
GENRES = ("sharing", "question", "announcement", "ceremonial", "report", "broadcast", "social")


class RuleVerdict(Protocol):
    """What the model reads of the rules' result (``plugin.domain.classify.PostFeatures``)."""

    knowledge_sharing: bool
    broadcast: bool
    own_words: int
    view_words: int
    links: tuple[str, ...]
    files: int
    is_question: bool
    reshared: bool
    insight: bool
    similarity: float
    social_share: float
    genre: str
    genre_scores: tuple[tuple[str, float], ...]


def dense_features(rules: RuleVerdict) -> dict[str, float]:
    """The rules' evidence as numbers: lengths, what is shared, genre scores and verdicts."""
    scores = dict(rules.genre_scores)
    features = {
        "log_own_words": math.log1p(rules.own_words),
        "log_view_words": math.log1p(rules.view_words),
        "links": float(min(len(rules.links), 3)),
        "files": float(min(rules.files, 3)),
        "shares_link_or_file": float(bool(rules.links) or rules.files > 0),
        "reshared": float(rules.reshared),
        "question": float(rules.is_question),
        "similarity": rules.similarity,
        "social_share": rules.social_share,
        "request": scores.get("request", 0.0),
        "logistics": scores.get("logistics", 0.0),
        "occasion": scores.get("occasion", 0.0),
        "insight_score": scores.get("insight", 0.0),
        "insight": float(rules.insight),
        "rules_knowledge_sharing": float(rules.knowledge_sharing),
        "rules_broadcast": float(rules.broadcast),
    }
    for genre in GENRES:
        features[f"genre_{genre}"] = float(rules.genre == genre)
    return features


def word_features(own_tokens: Iterable[str]) -> set[str]:
    """The distinct words of the author's own text (lower-cased, hashtags and bare numbers left out)."""
    return {t for t in own_tokens if t[0] != "#" and not t.isdigit() and len(t) > 1}


@dataclass(frozen=True, slots=True)
class Model:
    """Logistic regression weights: standardised dense features plus L2-normalised word indicators."""

    bias: float
    dense: Mapping[str, tuple[float, float, float]]  # name -> (mean, scale, weight)
    words: Mapping[str, float]
    confirm: float
    promote: float
    trained_on: tuple[str, ...] = ()

    def probability(self, rules: RuleVerdict, own_tokens: Iterable[str]) -> float:
        """The model's probability that the post is knowledge sharing."""
        z = self.bias
        for name, value in dense_features(rules).items():
            mean, scale, weight = self.dense.get(name, (0.0, 1.0, 0.0))
            z += weight * (value - mean) / scale
        known = [self.words[w] for w in word_features(own_tokens) if w in self.words]
        if known:
            z += sum(known) / math.sqrt(len(known))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, rules: RuleVerdict, probability: float, *, min_note_words: int) -> bool:
        """Knowledge sharing, from the rules' verdict and the model's probability (see the module docstring)."""
        if rules.broadcast or rules.own_words < min_note_words:
            return False
        if rules.knowledge_sharing:
            return probability >= self.confirm
        shares = bool(rules.links) or rules.files > 0 or rules.reshared or rules.view_words >= min_note_words
        return shares and probability >= self.promote

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-ready dict (the format ``from_json`` reads)."""
        return {
            "format": 1,
            "trained_on": list(self.trained_on),
            "bias": self.bias,
            "confirm": self.confirm,
            "promote": self.promote,
            "dense": {name: list(values) for name, values in self.dense.items()},
            "words": dict(sorted(self.words.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        """Read a model written by ``to_json``."""
        if data.get("format") != 1:
            raise ValueError(f"unknown classifier model format {data.get('format')!r}")
        return cls(
            bias=float(data["bias"]),
            dense={name: (float(m), float(s), float(w)) for name, (m, s, w) in data["dense"].items()},
            words={word: float(w) for word, w in data["words"].items()},
            confirm=float(data["confirm"]),
            promote=float(data["promote"]),
            trained_on=tuple(data.get("trained_on", ())),
        )


@cache
def shipped_model() -> Model | None:
    """The model shipped beside this module, or None when there is none (the rules then decide alone)."""
    if not MODEL_FILE.exists():
        return None
    return Model.from_json(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
