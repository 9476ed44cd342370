"""Knowledge-sharing classifier: does a post share expertise with a personal note, or re-broadcast corporate content?

Rules (after the "zendmasten" point of the employee-advocacy article), all thresholds being keyword
arguments of ``classify_post`` or module constants:

* **Ceremonial**: at least ``social_threshold`` (0.5) of the post's content words sit in clauses governed by
  a social formula (thanks, welcome, farewell, congratulations, birthdays, invitations; see
  ``plugin.domain.text.social_counts``), or the genre rules below find a ceremonial post. A long thank-you
  or farewell is still a thank-you or farewell.
* **Corporate sentence**: a sentence at least ``CORPORATE_SENTENCE`` (0.6) of whose content stems occur in
  the corporate text the post matches best (all of them for sentences of fewer than
  ``MIN_SENTENCE_STEMS`` stems); only looked for when the post as a whole is at least ``CORPORATE_FLOOR``
  × ``broadcast_threshold`` similar to that text.
* **Translated sentence**: when the post's language (nl/en) differs from a corporate text's, a sentence at least
  ``TRANSLATED_SENTENCE`` (0.5) of whose language-neutral keys (numbers and amounts, month and day names, general
  bilingual vocabulary, names and cognates; ``plugin.domain.crosslingual``) occur in the text in the other language
  the post matches best (all of them below ``MIN_SENTENCE_STEMS`` keys); only looked for when the post's keys as a
  whole are at least ``TRANSLATED_FLOOR`` (0.4, idf-weighted) contained in that text, and never in a sentence
  holding a social formula (a congratulation or "Trots op …" is the author's own occasion). A remark around the
  translation ("Lees dit!", "For our international colleagues") dilutes the whole post: from ``TRANSLATED_BLOCK`` ×
  the floor, the floor is also met by the block from the first to the last translated sentence. Within a translated
  passage, a sentence next to a translated one needs only ``TRANSLATED_RUN`` (0.34) of its keys (a translation's
  wording drifts beyond the lexicon; an own sentence on the subject keeps fewer). Translated sentences
  count as corporate sentences: a Dutch press release posted in English is a broadcast, an English post that
  translates its headline and adds a substantial view of its own is a comment.
* **View**: the author's words in sentences that are neither corporate (or translated) nor social formula. An
  **insight** is a view of at least ``min_note_words`` (12) content words in statements (a long question asks for
  knowledge rather than sharing it) in a post whose genre is "sharing", at least ``INSIGHT_FLOOR`` (0.2) of
  whose words carry insight cues (a lesson, an explanation, a result, a how-to step; ``plugin.domain.genre``).
* **Genre** (``plugin.domain.genre``): from cues in the author's own sentences, a post is a *question*
  (help request: its narrative is context for the question), an *announcement* (reminders, invitations,
  sign-ups, deadlines, rooms, outages), *ceremonial* (the social-share rule above, or a welcome, farewell,
  retirement, jubilee, congratulation or thank-you opening followed by narrative), a *report* (status and
  progress reports: section headings such as Done / Planning / Risks, bullet lists, sprint vocabulary) or
  *sharing*. A genre formula in the opening ("Reminder: …", "Dear all, a big THANK YOU …", "25 jaar Gerda!",
  "Statusupdate … – sprint 7") decides unless the rest of the post is strong, explicit knowledge; otherwise
  substantial knowledge (lessons, advice, experience, results) keeps a post "sharing". Only a "sharing" post
  can be knowledge sharing; links and files in a post of another genre (a sign-up form, the document a
  question is about) do not count. ``genre`` is "broadcast" for a broadcast and "social" for a post that
  shares nothing.
* **Similarity**: the share of the post contained in one corporate text, the largest of exact 3-shingle
  containment, idf-weighted content-word containment (``plugin.domain.similarity``) and the share of the
  post's content words in corporate and translated sentences (which catches paraphrase and translation sentence
  by sentence; the matched text is the translated one when translated sentences hold more of the post).
* **Broadcast**: similarity ≥ ``broadcast_threshold`` (0.6) while the view stays below ``min_view_words``
  (24): a few token words on a mostly corporate body. A substantial view makes a post that quotes the news
  a comment on it instead. Re-shared and quoted messages are references, like links: they count towards
  the similarity only when the view is shorter than ``min_note_words`` ("Trots!", "Big news 🚀" on a
  re-shared press release).
* **Knowledge sharing**: the post shares something (a link, a file, a forwarded message or an insight)
  with at least ``min_note_words`` own words, its genre is "sharing", and it is not a broadcast.
* **Second opinion** (``plugin.domain.learned``): a logistic model over these features and the author's words,
  trained on labelled posts of organisations the rules were never tuned on, confirms or overturns the rules'
  knowledge-sharing verdict when it is confident (never for a broadcast or a post below the note length).
  ``classify_by_rules`` gives the rules' verdict alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from plugin.domain.attachments import read_attachments
from plugin.domain.crosslingual import sentence_keys
from plugin.domain.genre import (
    INSIGHT_FLOOR,
    Genre,
    decide_genre,
    is_salutation_line,
    opening_region,
    sentence_cues,
)
from plugin.domain.learned import Model, shipped_model
from plugin.domain.similarity import MIN_CONTENT_WORDS, NO_MATCH, CorporateIndex, Match, corporate_index
from plugin.domain.text import (
    content_words,
    count_words,
    detect_language,
    has_social_formula,
    is_question_sentence,
    may_be_social,
    parse_body,
    sentences,
    social_counts,
    tokens,
    unique,
)

__all__ = [
    "CORPORATE_FLOOR",
    "CORPORATE_SENTENCE",
    "TRANSLATED_FLOOR",
    "TRANSLATED_SENTENCE",
    "MIN_SENTENCE_STEMS",
    "CorporateIndex",
    "PostFeatures",
    "classify_by_rules",
    "classify_post",
]

# A sentence of the post is corporate (pasted or paraphrased) when at least CORPORATE_SENTENCE of its content
# stems occur in the best-matching corporate text; a sentence with fewer than MIN_SENTENCE_STEMS content
# stems needs all of them there. Sentences are only attributed when the whole post is at least
# CORPORATE_FLOOR × ``broadcast_threshold`` similar to that text, so that a post merely on the same subject
# as some corporate text keeps all of its sentences.
CORPORATE_SENTENCE = 0.6
MIN_SENTENCE_STEMS = 3
CORPORATE_FLOOR = 0.5
# A sentence translates the best-matching corporate text in the other language when at least TRANSLATED_SENTENCE of
# its language-neutral keys (plugin.domain.crosslingual) occur in that text (all of them below MIN_SENTENCE_STEMS
# keys); only looked for when the post's keys as a whole are at least TRANSLATED_FLOOR contained in that text.
TRANSLATED_SENTENCE = 0.5
TRANSLATED_FLOOR = 0.4
# Within a translated passage, a sentence next to a translated one is translated from TRANSLATED_RUN of its keys; a post
# below the floor as a whole is looked at from TRANSLATED_BLOCK × the floor, for the block between its first and last
# translated sentences (a remark around a translation dilutes the whole post).
TRANSLATED_RUN = 0.34
TRANSLATED_BLOCK = 0.5


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """Classification result and the features it was derived from."""

    knowledge_sharing: bool
    broadcast: bool
    own_words: int
    language: str
    links: tuple[str, ...] = ()
    files: int = 0
    topics: tuple[str, ...] = ()
    is_question: bool = False
    shares_something: bool = False
    similarity: float = 0.0
    mentions: int = 0
    insight: bool = False
    reshared: bool = False
    corporate_match: int | None = None
    ceremonial: bool = False
    social_share: float = 0.0  # share of content words in social-formula clauses
    view_words: int = 0  # own words outside corporate sentences and social formulas
    # "sharing", "question", "announcement", "ceremonial", "report", "broadcast" or "social" (shares nothing); see
    # plugin.domain.genre. Only "sharing" can be knowledge sharing.
    genre: str = "social"
    genre_scores: tuple[tuple[str, float], ...] = ()  # request, logistics, occasion and insight shares
    # The learned second opinion's probability of knowledge sharing (plugin.domain.learned); None: rules alone.
    probability: float | None = None


class _Sentence(NamedTuple):
    text: str
    tokens: list[str]
    words: int
    content: int  # content words
    social: tuple[int, int]  # content words and all words in social-formula clauses (or salutations)
    question: bool
    formula: bool = False  # holds a social formula


def classify_post(
    html: str,
    *,
    corporate_texts: Sequence[str] | CorporateIndex = (),
    attachments: Sequence[Mapping[str, Any]] = (),
    min_note_words: int = 12,
    broadcast_threshold: float = 0.6,
    social_threshold: float = 0.5,
    min_view_words: int = 24,
    model: Model | None | bool = True,
) -> PostFeatures:
    """Classify one Teams (HTML) or Yammer (plain text) post body as knowledge sharing and/or broadcast.

    The rules below decide, with a learned second opinion on knowledge sharing (``plugin.domain.learned``):
    ``model`` is True for the shipped model, a ``Model``, or False/None for the rules alone. Keyword arguments
    are those of ``classify_by_rules``.
    """
    rules, own_tokens = classify_by_rules(
        html, corporate_texts=corporate_texts, attachments=attachments, min_note_words=min_note_words,
        broadcast_threshold=broadcast_threshold, social_threshold=social_threshold, min_view_words=min_view_words,
    )
    opinion = shipped_model() if model is True else (model or None)
    if opinion is None:
        return rules
    probability = opinion.probability(rules, own_tokens)
    knowledge_sharing = opinion.decide(rules, probability, min_note_words=min_note_words)
    # A rejected "sharing" post shares something, but not with knowledge of the author's own.
    genre = "sharing" if knowledge_sharing else ("social" if rules.genre == "sharing" else rules.genre)
    return replace(
        rules, knowledge_sharing=knowledge_sharing, genre=genre, probability=round(probability, 4),
        shares_something=rules.shares_something or knowledge_sharing,
    )


def classify_by_rules(
    html: str,
    *,
    corporate_texts: Sequence[str] | CorporateIndex = (),
    attachments: Sequence[Mapping[str, Any]] = (),
    min_note_words: int = 12,
    broadcast_threshold: float = 0.6,
    social_threshold: float = 0.5,
    min_view_words: int = 24,
) -> tuple[PostFeatures, list[str]]:
    """Classify a post by the rules alone; also return the author's own word tokens (for the learned opinion).

    * ``corporate_texts``: the corporate library, as texts (indexed and cached per distinct tuple) or as a
      prepared ``CorporateIndex``.
    * ``min_note_words`` (12): own words a personal note needs (mentions, URLs, signatures and quotes do
      not count); also the content words of view that make an insight, and the view words that keep a
      re-shared message a mere reference.
    * ``broadcast_threshold`` (0.6): similarity (0..1, share of the post contained in one corporate text)
      from which a post is a broadcast.
    * ``social_threshold`` (0.5): share of content words in social-formula clauses from which a post is
      ceremonial, i.e. neither an insight nor knowledge sharing.
    * ``min_view_words`` (24): own words outside corporate sentences and social formulas from which a post
      with pasted corporate text comments on it rather than repeats it, and is not a broadcast.
    """
    body = parse_body(html or "")
    attached = read_attachments(attachments)
    index = _prepared(corporate_texts)

    own_tokens: list[str] = []
    parts: list[_Sentence] = []
    is_question = False
    for sentence in sentences(body.own):
        sentence_tokens = tokens(sentence)
        own_tokens.extend(sentence_tokens)
        question = is_question_sentence(sentence, sentence_tokens)
        is_question = is_question or question
        content = content_words(sentence_tokens)
        if content:
            words = count_words(sentence_tokens)
            parts.append(_Sentence(sentence, sentence_tokens, words, content, (0, 0), question))
    if may_be_social(own_tokens):  # most posts hold no formula at all: one look instead of one per sentence
        parts = [
            p._replace(social=social_counts(p.text, p.tokens), formula=has_social_formula(p.tokens)) for p in parts
        ]
    own_words = count_words(own_tokens)
    total_content = sum(p.content for p in parts)
    social_share = sum(p.social[0] for p in parts) / total_content if total_content else 0.0

    language = detect_language(own_tokens)
    match = index.match(own_tokens) if index is not None and own_tokens else NO_MATCH
    attribute = index is not None and match.similarity >= CORPORATE_FLOOR * broadcast_threshold
    translated, translated_parts = _translation(body.own, own_tokens, parts, index, language)
    view_words = statement_content = corporate_content = translated_content = 0
    own_parts: list[_Sentence] = []
    for i, part in enumerate(parts):
        if attribute and _is_corporate(part.tokens, index, match):
            corporate_content += part.content
            continue
        # A sentence holding a social formula ("Gefeliciteerd met …", "Trots op …") is the author's own occasion.
        if translated is not None and translated_parts[i]:
            translated_content += part.content
            continue
        own_parts.append(part)
        social_content, social_words = part.social
        if social_content == part.content:
            continue
        view_words += part.words - social_words
        if not part.question:
            statement_content += part.content - social_content
    opening = opening_region((p.text, p.tokens) for p in own_parts)
    decided = decide_genre(
        (
            (
                sentence_cues(p.text, p.tokens, question=p.question, social=p.formula, opening=i in opening),
                p.content,
                not is_salutation_line(p.tokens, p.text),
            )
            for i, p in enumerate(own_parts)
        ),
        ceremonial=social_share >= social_threshold,
        items=body.items,
    )
    # In a help request, a notice or a ceremonial post the author's own words are context, not an insight.
    # An insight also sounds like one: some of its words carry a lesson, an explanation or a result.
    insight = statement_content >= min_note_words and decided.genre == "sharing" and decided.insight >= INSIGHT_FLOOR
    if corporate_content or translated_content:
        # Sentence by sentence, a paraphrase or a translation is still mostly corporate even when its wording is not.
        share = (corporate_content + translated_content) / max(total_content, MIN_CONTENT_WORDS)
        if share > match.similarity:
            text_id = translated if translated_content > corporate_content else match.text_id
            match = Match(share, text_id, match.shingle, match.lexical)

    shared_texts = [t for t in (body.quoted, *attached.quoted, *attached.forwarded) if t]
    shared_tokens: list[str] | None = None

    def reshared_tokens() -> list[str]:
        nonlocal shared_tokens
        if shared_tokens is None:
            shared_tokens = [t for text in shared_texts for t in tokens(parse_body(text).own)]
        return shared_tokens

    if language == "und" and shared_texts:
        language = detect_language(own_tokens + reshared_tokens())

    if index is not None and shared_texts and view_words < min_note_words:
        # Without a view of their own, the author's post *is* the re-shared message.
        with_reshared = index.match(own_tokens + reshared_tokens())
        if with_reshared.similarity > match.similarity:
            match = with_reshared
    broadcast = match.similarity >= broadcast_threshold and view_words < min_view_words

    links = unique((*body.links, *attached.links))
    shares_something = bool(links) or attached.files > 0 or bool(attached.forwarded) or insight
    if broadcast:
        genre = "broadcast"
    elif decided.genre != "sharing":
        genre = decided.genre
    else:
        genre = "sharing" if shares_something else "social"
    features = PostFeatures(
        knowledge_sharing=genre == "sharing" and own_words >= min_note_words,
        broadcast=broadcast,
        own_words=own_words,
        language=language,
        links=links,
        files=attached.files,
        topics=body.topics,
        is_question=is_question,
        shares_something=shares_something,
        similarity=round(match.similarity, 4),
        mentions=body.mentions,
        insight=insight,
        reshared=bool(shared_texts),
        corporate_match=match.text_id if broadcast else None,
        ceremonial=decided.genre == "ceremonial",
        social_share=round(social_share, 4),
        view_words=view_words,
        genre=genre,
        genre_scores=_scores(decided),
    )
    return features, own_tokens


def _scores(decided: Genre) -> tuple[tuple[str, float], ...]:
    """The genre scores, rounded, by name."""
    return tuple((name, round(getattr(decided, name), 4)) for name in ("request", "logistics", "occasion", "insight"))


def _is_corporate(sentence_tokens: list[str], index: CorporateIndex | None, match: Match) -> bool:
    """Whether a sentence mostly repeats (in any order or inflection) the best-matching corporate text."""
    if index is None or match.text_id is None:
        return False
    containment, stems = index.stem_containment(sentence_tokens, match.text_id)
    return containment >= (CORPORATE_SENTENCE if stems >= MIN_SENTENCE_STEMS else 1.0)


def _translation(
    own: str, own_tokens: list[str], parts: Sequence[_Sentence], index: CorporateIndex | None, language: str
) -> tuple[int | None, list[bool]]:
    """The corporate text in the other language the post may translate (or None), and then which sentences do."""
    if index is None or not parts or not index.cross.other_language(language):
        return None, []
    cross = index.cross
    similarity, text_id = cross.match(sentence_keys(own, own_tokens), language)
    if text_id is None or similarity < TRANSLATED_FLOOR * TRANSLATED_BLOCK:
        return None, []
    keys = [sentence_keys(p.text, p.tokens) for p in parts]
    shares = [cross.containment(k, text_id) for k in keys]
    strict = [not p.formula and _translated(share, len(k)) for p, k, share in zip(parts, keys, shares, strict=True)]
    if similarity < TRANSLATED_FLOOR:
        # A remark before or after a translation ("Lees dit!", "For our international colleagues") dilutes the whole
        # post: the floor then holds for the block from its first to its last translated sentence.
        marked = [i for i, flag in enumerate(strict) if flag]
        if len(marked) < 2:
            return None, []
        similarity, block_id = cross.match(set().union(*keys[marked[0] : marked[-1] + 1]), language)
        if similarity < TRANSLATED_FLOOR or block_id != text_id:
            return None, []
    # Within a translated passage, a sentence next to a translated one needs only TRANSLATED_RUN of its keys: a
    # translation's wording drifts (general words the lexicon lacks), an own sentence on the subject keeps fewer.
    flags = list(strict)
    candidates = [
        i
        for i, p in enumerate(parts)
        if not p.formula and len(keys[i]) >= MIN_SENTENCE_STEMS and shares[i] >= TRANSLATED_RUN
    ]
    changed = True
    while changed:  # a run grows from its translated sentences ("… a third…" carries the sentence before it)
        changed = False
        for i in candidates:
            if not flags[i] and ((i > 0 and flags[i - 1]) or (i + 1 < len(flags) and flags[i + 1])):
                flags[i] = changed = True
    return text_id, flags


def _translated(share: float, keys: int) -> bool:
    """Whether a sentence's share of keys found in a corporate text in the other language makes it a translation."""
    return share >= (TRANSLATED_SENTENCE if keys >= MIN_SENTENCE_STEMS else 1.0)


def _prepared(corporate_texts: Sequence[str] | CorporateIndex) -> CorporateIndex | None:
    """The corporate library as a (cached) index, or None when there is nothing to compare against."""
    if isinstance(corporate_texts, CorporateIndex):
        return corporate_texts if len(corporate_texts) else None
    if not corporate_texts:
        return None
    texts = corporate_texts if isinstance(corporate_texts, tuple) else tuple(corporate_texts)
    return corporate_index(texts)
