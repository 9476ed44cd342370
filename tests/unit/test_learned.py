"""The learned second opinion on knowledge sharing: its decision rule, its file, and where its weights come from."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin.domain.classify import classify_by_rules, classify_post
from plugin.domain.learned import MODEL_FILE, Model, dense_features, shipped_model, word_features

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
#: The sets that measure the classifier (tests/unit/test_classify.py); the model must never have seen them.
HELD_OUT = ("classifier_blind9.jsonl", "classifier_blind10.jsonl")
NOTE = ("<p>Handig overzicht van de nieuwe privacyregels, vooral de checklist op pagina 3 scheelt ons veel "
        "uitzoekwerk.</p>")


def model(**changes: float) -> Model:
    """A model whose probability is fixed by its bias (no feature weights)."""
    return dataclasses.replace(Model(bias=0.0, dense={}, words={}, confirm=0.3, promote=0.7), **changes)


def rules(html: str, **options):
    return classify_by_rules(html, **options)[0]


@pytest.mark.parametrize(
    ("rules_say", "probability", "decided"),
    [(True, 0.9, True), (True, 0.3, True), (True, 0.29, False), (False, 0.7, True), (False, 0.69, False)],
)
def test_the_model_moves_a_post_across_the_rules_line_only_with_confidence(
    rules_say: bool, probability: float, decided: bool
) -> None:
    verdict = dataclasses.replace(rules(NOTE + '<a href="https://example.org/privacy">x</a>'),
                                  knowledge_sharing=rules_say)
    assert model().decide(verdict, probability, min_note_words=12) is decided


def test_broadcasts_short_notes_and_posts_sharing_nothing_are_never_promoted() -> None:
    sure = model()
    broadcast = dataclasses.replace(rules(NOTE), broadcast=True, knowledge_sharing=False)
    short = rules('<p>Top artikel!</p><a href="https://example.org/a">https://example.org/a</a>')
    nothing = dataclasses.replace(rules("<p>Goedemorgen allemaal, fijne dag vandaag en tot straks bij de koffie!</p>"),
                                  view_words=0, links=(), files=0, reshared=False)
    for verdict in (broadcast, short, nothing):
        assert not sure.decide(verdict, 1.0, min_note_words=12)


def test_probability_follows_the_weights_of_the_words_and_features() -> None:
    verdict, tokens = classify_by_rules(NOTE)
    neutral = model()
    assert neutral.probability(verdict, tokens) == pytest.approx(0.5)
    keen = model(words={"checklist": 2.0})
    assert keen.probability(verdict, tokens) > 0.5
    wary = model(dense={"log_own_words": (0.0, 1.0, -1.0)})
    assert wary.probability(verdict, tokens) < 0.5
    assert "checklist" in word_features(tokens) and not any(w.isdigit() for w in word_features(tokens))
    assert set(dense_features(verdict)) >= {"log_own_words", "rules_knowledge_sharing", "genre_sharing"}


def test_a_model_survives_its_json_and_an_unknown_format_is_refused() -> None:
    original = model(bias=0.25, words={"tip": 1.5}, dense={"links": (0.4, 0.8, 0.6)})
    assert Model.from_json(json.loads(json.dumps(original.to_json()))) == original
    with pytest.raises(ValueError, match="format"):
        Model.from_json({**original.to_json(), "format": 99})


def test_classify_post_uses_the_shipped_model_unless_told_not_to() -> None:
    shipped = shipped_model()
    assert shipped is not None, "plugin/domain/ks_model.json is missing"
    with_model = classify_post(NOTE)
    assert with_model.probability is not None and 0.0 <= with_model.probability <= 1.0
    assert classify_post(NOTE, model=False).probability is None
    assert classify_post(NOTE, model=model(bias=-9.0, confirm=0.5)).knowledge_sharing is False


def test_the_shipped_model_never_saw_the_held_out_sets_and_comes_from_the_training_script(tmp_path: Path) -> None:
    shipped = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert shipped["trained_on"], "the model names what it was trained on"
    assert not set(shipped["trained_on"]) & set(HELD_OUT)
    assert all((DATA / name).exists() for name in [*shipped["trained_on"], *HELD_OUT])
    # Retraining from the labelled data gives the shipped file: its weights are the data's, not edited by hand.
    out = tmp_path / "model.json"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_classifier.py"), "--out", str(out)],
                         capture_output=True, text=True, check=False, cwd=ROOT,
                         env={**os.environ, "PYTHONHASHSEED": "0"})
    assert run.returncode == 0, run.stderr
    assert "left out one at a time" in run.stdout  # the cross-validation that chose the thresholds
    assert json.loads(out.read_text(encoding="utf-8")) == shipped
