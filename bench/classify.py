"""Classifier throughput benchmark: the development posts, classified again and again, against two libraries.

Usage: python bench/classify.py [--seconds S] [--min-passes N] [--size N] [--seed N]

The development posts are those of the DEVELOPMENT files in tests/data (the corpus, blind sets 1–4 and the probe
set; their "corporate_only" lines left out). Each post is classified against

* (a) the corporate texts of tests/data/corporate_texts.json, and
* (b) a synthetic library of ``--size`` (200) texts: those corporate texts plus recombinations of their
  sentences with some words replaced by new ones (deterministic for a given ``--seed``).

The bench posts stay those of the six files above (not classifier_translations.jsonl), so that figures before and
after the cross-language rule compare the same work; the index build includes the language-neutral keys of
``plugin.domain.crosslingual``. For each library the prepared index (``CorporateIndex``) is built once per timing
round, best of several rounds, and the posts are classified in passes over all of them for about ``--seconds`` of
CPU time (at least ``--min-passes`` passes). Reported: index build time, and posts/s for the best and the median pass
in process CPU time (other processes on a shared machine slow the wall clock, not this figure), plus the
wall-clock rate over all passes. Timing is reported, never asserted: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.domain.classify import CorporateIndex, classify_post  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
DEVELOPMENT = (
    "classifier_corpus.jsonl",
    "classifier_blind.jsonl",
    "classifier_blind2.jsonl",
    "classifier_blind3.jsonl",
    "classifier_blind4.jsonl",
    "classifier_probe.jsonl",
)


def load_posts() -> list[tuple[str, list[dict[str, Any]]]]:
    """(html, attachments) of every labelled development post."""
    posts = []
    for name in DEVELOPMENT:
        with (DATA / name).open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        posts.extend((r["html"], r.get("attachments") or []) for r in rows if not r.get("corporate_only"))
    return posts


def corporate_texts() -> list[str]:
    return [c["text"] for c in json.loads((DATA / "corporate_texts.json").read_text(encoding="utf-8"))]


def synthetic_library(base: list[str], size: int, seed: int) -> list[str]:
    """The corporate texts plus recombinations of their sentences with some words replaced by new ones."""
    rng = random.Random(seed)
    pool = [s for text in base for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 4]
    library = list(base)
    while len(library) < size:
        words = " ".join(rng.sample(pool, rng.randint(4, 9))).split()
        for _ in range(len(words) // 6):
            words[rng.randrange(len(words))] = f"term{rng.randrange(5000)}"
        library.append(" ".join(words))
    return library


def build_time(texts: list[str], rounds: int = 5) -> tuple[float, CorporateIndex]:
    """Best CPU time (s) of building the index over a few rounds, and the index."""
    best, index = float("inf"), None
    for _ in range(rounds):
        started = time.process_time()
        index = CorporateIndex(texts)
        best = min(best, time.process_time() - started)
    assert index is not None
    return best, index


def throughput(
    posts: list[tuple[str, list[dict[str, Any]]]], index: CorporateIndex, seconds: float, min_passes: int
) -> tuple[float, float, float, int]:
    """Posts/s: best and median pass in CPU time, overall wall clock; and the number of passes."""
    rates: list[float] = []
    spent = 0.0
    wall_started = time.perf_counter()
    while len(rates) < min_passes or spent < seconds:
        started = time.process_time()
        for html, attachments in posts:
            classify_post(html, corporate_texts=index, attachments=attachments)
        elapsed = time.process_time() - started
        spent += elapsed
        rates.append(len(posts) / elapsed if elapsed else float("inf"))
    wall = time.perf_counter() - wall_started
    return max(rates), statistics.median(rates), len(posts) * len(rates) / wall, len(rates)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds of classifying per library")
    parser.add_argument("--min-passes", type=int, default=5)
    parser.add_argument("--size", type=int, default=200, help="size of the synthetic library")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    posts = load_posts()
    base = corporate_texts()
    libraries = {
        f"(a) {len(base)} corporate texts": base,
        f"(b) {args.size} synthetic corporate texts": synthetic_library(base, args.size, args.seed),
    }
    print(f"{len(posts)} development posts, Python {sys.version.split()[0]}")
    for label, texts in libraries.items():
        built, index = build_time(texts)
        best, median, wall, passes = throughput(posts, index, args.seconds, args.min_passes)
        print(
            f"{label}: index build {built * 1000:.1f} ms | {best:,.0f} posts/s best pass, {median:,.0f} median "
            f"(CPU time, {passes} passes) | {wall:,.0f} posts/s wall clock"
        )


if __name__ == "__main__":
    main()
