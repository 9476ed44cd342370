"""Message text: HTML/plain body → the author's own words, tokens, language, question cues, social formulas, stems."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import NamedTuple

# Block-level tags end a line, so words from adjacent paragraphs never glue together.
_BLOCK_TAGS = frozenset("p div br li ul ol tr td th h1 h2 h3 h4 h5 h6 pre codeblock table section article hr".split())
# Content of these tags is never the author's own prose.
_DISCARD_TAGS = frozenset(("attachment", "script", "style", "head", "title", "template"))
# Inline link previews / cards rendered into the body by some clients.
_CARD_HINT = re.compile(r"(?i)link-?preview|unfurl|swift|\bcard\b|adaptivecard|herocard")
_MENTION_HINT = re.compile(r"(?i)schema\.skype\.com/Mention")

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'\]]+")
_URL_TRAILING = ".,;:!?)’'\""
_YAMMER_USER = re.compile(r"\[\[user:\d+\]\]", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_TAG_REF = re.compile(r"\[\[?tag:\s*([^\]\[]+?)\s*\]\]?", re.IGNORECASE)
# Yammer/Viva Engage tag references and #hashtags, in order of appearance.
_TOPIC = re.compile(_TAG_REF.pattern + r"|(?<![\w&/#])#([^\W\d_][\w-]*)", re.IGNORECASE)
# A plain-text "@Name" mention; the look-behind keeps e-mail addresses out.
_AT_NAME = re.compile(r"(?<![\w.@])@[^\W\d_][\w.\-]*")
_TOKEN = re.compile(r"#?[^\W_]+(?:['’\-][^\W_]+)*")
# A period between digits ("room B1.14", "12.30", "v2.1") does not end a sentence.
_SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+[.!?]*")
# A plain-text list item: a line opening with a bullet or an item number ("- ", "• ", "1. ", "2) ").
_BULLET_LINE = re.compile(r"(?m)^[ \t]*(?:[-•*·▪–]|\d{1,2}[.)])[ \t]+\S")
_SIGNOFF = re.compile(
    r"(?i)^\s*(?:"
    r"(?:met\s+)?(?:vriendelijke|hartelijke|beste|warme)\s+groet(?:en)?|mvg|"
    r"(?:kind|best|warm|many)\s+(?:regards|wishes|thanks)|"
    r"(?:groet(?:en|jes)?|regards|cheers|thanks|bedankt|dank|best)\s*,|"
    r"sent\s+from\s+my\b|verzonden\s+(?:vanaf|vanuit|met|via)\b|get\s+outlook\s+for\b|--+\s*$"
    r")"
)
_SIGNATURE_MAX_LINES = 6

# Closed-class words (articles, pronouns, auxiliaries, prepositions, conjunctions) from general
# grammar knowledge; function words generalise across topics, unlike content keywords.
_EN_FUNCTION = frozenset(
    """
the a an and or but nor of to in on at for with from by about as into onto than then this that these those
it its it's is are was were be been being am have has had having do does did doing done not no can can't
cannot could couldn't will won't would wouldn't should shouldn't shall may might must i i'm i've i'd i'll you
you're you've he she we we're we've they they're they've me him her us them my your his our their mine yours
ours theirs what which who whom whose when where why how there here if so because just also very all some any
more most only other such out up down after before over under through again once both each few own same too
one get got like don't doesn't didn't isn't aren't wasn't weren't haven't hasn't let's that's there's what's
while until since though although whether either neither yet still even ever really much many every anyone
someone something anything nothing everyone everything
""".split()
)
_NL_FUNCTION = frozenset(
    """
de het een en of in op te van voor met aan bij uit naar door over om tot als dan dat die dit deze er is zijn
was waren wordt worden werd werden heeft hebben had hadden kan kun kunt kunnen kon konden zal zullen zou zouden
moet moeten moest wil willen wilde mag mogen ik je jij u hij zij ze we wij me mij ons onze mijn jouw jullie hun
haar hem wat wie waar wanneer waarom hoe welke welk niet geen ook nog al wel maar want dus omdat zo heel erg
veel meer meest alle alles iets iemand niemand niets nu toen hier daar na mee even gaan gaat ga doen doet deed
komt komen kwam echt zelf elkaar ieder iedere elk elke waarbij waardoor waarin daarom daarna daarbij tussen
zonder sinds tijdens binnen buiten onder boven toch steeds weer pas nooit altijd vaak soms misschien bijna
hebt ben bent word zit zitten staat staan ligt jou zich
""".split()
)
# Words in both lists say nothing about the language.
_EN_ONLY = _EN_FUNCTION - _NL_FUNCTION
_NL_ONLY = _NL_FUNCTION - _EN_FUNCTION
FUNCTION_WORDS = _EN_FUNCTION | _NL_FUNCTION

# Spelling cues for short texts with few function words; weaker evidence than a function word.
_NL_SPELLING = re.compile(r"ij|oe|sch|aa|uu|ui|heid$|lijk|tje$|isch$")
_EN_SPELLING = re.compile(r"th|wh|ing$|tion$|ly$|sh|ous$|ck")
_SPELLING_WEIGHT = 0.34

_WH_OPENERS = frozenset(
    """
who what when where why how which whom whose anyone anybody somebody someone
wie wat waar wanneer waarom hoe welke welk hoeveel iemand
""".split()
)
_AUX_OPENERS = frozenset(
    """
do does did is are was were can could would should will have has may might shall
heeft hebben heb hebt kan kun kunt kunnen kent kennen weet weten wil wilt willen zou zouden moet moeten mag
is zijn ben bent gaat gaan doet doen zit zitten
""".split()
)
_ADDRESSEES = frozenset(
    """
anyone anybody somebody someone you we they there i
iemand jullie jij je u we wij er ik ze
""".split()
)


@dataclass(frozen=True, slots=True)
class Body:
    """The parts of a message body that matter for classification."""

    own: str
    quoted: str
    links: tuple[str, ...]
    mentions: int
    topics: tuple[str, ...]
    items: int = 0  # list items (HTML <li> or plain-text bullet lines) in the own text


class _BodyParser(HTMLParser):
    """Collects own text, quoted text, links and mentions from a Teams/Yammer HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.own: list[str] = []
        self.quoted: list[str] = []
        self.links: list[str] = []
        self.mention_ids: set[str] = set()
        self.anonymous_mentions = 0
        self.items = 0
        # Skipped region: (tag, nesting depth, sink or None to discard).
        self._skip: tuple[str, int, list[str] | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            skip_tag, depth, sink = self._skip
            if tag == skip_tag:
                self._skip = (skip_tag, depth + 1, sink)
            if sink is not None and tag in _BLOCK_TAGS:
                sink.append("\n")
            return
        attributes = dict(attrs)
        hints = f"{attributes.get('itemtype') or ''} {attributes.get('class') or ''}"
        if tag == "at" or _MENTION_HINT.search(hints):
            mention_id = attributes.get("id") or attributes.get("itemid")
            if mention_id is None:
                self.anonymous_mentions += 1
            else:
                self.mention_ids.add(mention_id)
            self._skip = (tag, 1, None)
        elif tag == "blockquote":
            self.quoted.append("\n")
            self._skip = (tag, 1, self.quoted)
        elif tag in _DISCARD_TAGS or (tag != "a" and _CARD_HINT.search(hints)):
            self._skip = (tag, 1, None)
        else:
            if tag == "a":
                href = (attributes.get("href") or "").strip()
                if href.lower().startswith(("http://", "https://")):
                    self.links.append(href)
            if tag == "li":
                self.items += 1
            if tag in _BLOCK_TAGS:
                self.own.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip is not None:
            skip_tag, depth, sink = self._skip
            if tag == skip_tag:
                self._skip = None if depth == 1 else (skip_tag, depth - 1, sink)
                # A mention sits inside a sentence; keep a word boundary but no line break.
                self.own.append(" ")
            return
        if tag in _BLOCK_TAGS:
            self.own.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip is None:
            self.own.append(data)
        elif self._skip[2] is not None:
            self._skip[2].append(data)


def parse_body(markup: str) -> Body:
    """Split a Teams HTML or Yammer plain-text body into own text, quoted text, links, mentions and topics."""
    if "<" in markup or "&" in markup:
        parser = _BodyParser()
        parser.feed(markup)
        parser.close()
        own, quoted = "".join(parser.own), "".join(parser.quoted)
        links, mentions = parser.links, len(parser.mention_ids) + parser.anonymous_mentions
        items = parser.items
    else:
        own, quoted, links, mentions, items = markup, "", [], 0, 0
    own = own.replace("\xa0", " ").replace("\r\n", "\n")

    own, quoted_lines = _split_quoted_lines(own)
    # Signature first so a URL in the sign-off block is not taken for a shared link; URLs before
    # mentions so that "https://medium.com/@author" stays one link.
    own = strip_signature(own)
    own, urls = extract_urls(own)
    own, plain_mentions = _strip_plain_mentions(own)
    own, topics = _extract_topics(own)
    if not items:  # typed bullets in plain text (or in HTML without a list)
        items = len(_BULLET_LINE.findall(own))
    return Body(
        own=own,
        quoted=(quoted + "\n" + quoted_lines).strip(),
        links=unique(link.rstrip(_URL_TRAILING) for link in (*links, *urls)),
        mentions=mentions + plain_mentions,
        topics=topics,
        items=items,
    )


def _strip_plain_mentions(text: str) -> tuple[str, int]:
    """Remove Yammer `[[user:id]]` references and plain `@Name` mentions, counting them."""
    text, yammer = _YAMMER_USER.subn(" ", text)
    text, plain = _AT_NAME.subn(" ", text)
    return text, yammer + plain


def _split_quoted_lines(text: str) -> tuple[str, str]:
    """Move e-mail style `> quoted` lines out of the own text."""
    if ">" not in text:
        return text, ""
    own: list[str] = []
    quoted: list[str] = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(">"):
            quoted.append(stripped.lstrip("> "))
        else:
            own.append(line)
    return "\n".join(own), "\n".join(quoted)


def _extract_topics(text: str) -> tuple[str, tuple[str, ...]]:
    """Collect `#hashtag` and `[Tag:x]` / `[[tag:x]]` topics; tag references are removed from the text."""
    if "#" not in text and "[" not in text:
        return text, ()
    found = (tag_ref.strip() or hashtag for tag_ref, hashtag in _TOPIC.findall(text))
    # Yammer writes a tag as "[[tag:12345]]": the number is the tag's id, not a topic name.
    topics = unique(topic.lower() for topic in found if topic and not topic.isdigit())
    return _TAG_REF.sub(" ", text), topics


def strip_signature(text: str) -> str:
    """Cut an e-mail style sign-off ("Met vriendelijke groet,", "Kind regards") and what follows it."""
    lines = text.rstrip().split("\n")
    # Only a sign-off near the end is a signature; earlier matches are part of the message.
    start = max(1, len(lines) - _SIGNATURE_MAX_LINES)
    for index in range(start, len(lines)):
        if _SIGNOFF.match(lines[index]):
            return "\n".join(lines[:index])
    return text


def extract_urls(text: str) -> tuple[str, list[str]]:
    """Remove URLs (returned) and e-mail addresses (dropped) from text."""
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    if "http" not in text and "www." not in text:
        return text, []
    urls = [u.rstrip(_URL_TRAILING) for u in _URL.findall(text)]
    return _URL.sub(" ", text), urls


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """De-duplicate strings, keeping first-seen order."""
    return tuple(dict.fromkeys(items))


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; hashtags keep their leading '#'."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def count_words(word_tokens: Sequence[str]) -> int:
    """Number of words, not counting hashtags."""
    return len([t for t in word_tokens if t[0] != "#"])


def content_words(word_tokens: Sequence[str]) -> int:
    """Number of non-function, non-hashtag words: a cheap measure of how much is actually said."""
    return len([t for t in word_tokens if t not in FUNCTION_WORDS and t[0] != "#"])


def detect_language(word_tokens: Sequence[str]) -> str:
    """Return "nl", "en" or "und" from function-word frequencies, with spelling cues as a weak tie-breaker."""
    nl = sum(1 for t in word_tokens if t in _NL_ONLY)
    en = sum(1 for t in word_tokens if t in _EN_ONLY)
    verdict = _verdict(nl, en)
    if verdict != "und" and nl + en >= 3:
        return verdict
    # Few function words (a short post): let spelling patterns of the remaining words add weak evidence.
    nl_cues = en_cues = 0
    for token in word_tokens:
        if token[0] != "#" and token not in FUNCTION_WORDS and not token.isdigit():
            nl_cues += _NL_SPELLING.search(token) is not None
            en_cues += _EN_SPELLING.search(token) is not None
    return _verdict(nl + _SPELLING_WEIGHT * nl_cues, en + _SPELLING_WEIGHT * en_cues)


def _verdict(nl: float, en: float) -> str:
    """Pick a language only with a clear margin: code-switched Dutch posts are full of English nouns."""
    if nl >= 1 and nl >= 1.5 * en and nl - en >= 0.5:
        return "nl"
    if en >= 1 and en >= 1.5 * nl and en - nl >= 0.5:
        return "en"
    return "und"


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping the terminal punctuation."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def is_question_sentence(sentence: str, sentence_tokens: Sequence[str] | None = None) -> bool:
    """True for a sentence ending in '?' or opening like a question without closing punctuation."""
    if sentence.endswith("?"):
        return True
    if sentence.endswith((".", "!", ":")):  # a lead-in ("What stuck with me:") introduces, it does not ask
        return False
    words = tokens(sentence) if sentence_tokens is None else sentence_tokens
    if not words:
        return False
    return words[0] in _WH_OPENERS or (len(words) > 1 and words[0] in _AUX_OPENERS and words[1] in _ADDRESSEES)


# --------------------------------------------------------------------------------------------- social formulas
# Formulas of gratitude, greeting and leave-taking, congratulation and celebration, and invitation, as any
# Dutch or English speaker would list them (general language knowledge, not words taken from a corpus).
# A phrase is a space-separated token sequence; a single token may be a prefix ("congrat*") or, for Dutch
# compounds, a suffix ("*borrel" matches "vrijdagmiddagborrel").
_SOCIAL_FORMULAS_EN = """
thanks|thank|thank-you|thankyou|thx|many thanks|much appreciated|really appreciate|i appreciate|appreciate it
appreciate your|grateful|gratitude|kudos|shout out|shout-out|shoutout|welcom*|goodbye|bye|farewell|see you soon
see you there|see you at|see you next|see you all|see you then|see you tomorrow|see ya|stay in touch|keep in touch
my last day|last day at|my first day|first day at|excited to join|happy to join|thrilled to join|my first week
my first month|feel at home|what a team|you deserve|deserve this|deserve it|new adventure|miss you|looking forward
look forward|nice to meet|great to meet|pleasure to meet|pleasure working|get to know|getting to know|say hi
say hello|joins us|joined us|joins the team|joined the team|take care|all the best|best wishes|good luck
best of luck|have a nice day|have a great day|have a good day|have a nice weekend|have a great weekend
have a good weekend|enjoy the weekend|enjoy your weekend|enjoy your holiday|enjoy your holidays|happy friday
happy monday|happy weekend|happy holidays|happy new year|happy birthday|happy anniversary|merry christmas
great to see|good to see|nice to see|lovely to see|great to have|glad to have|happy to have|congrat*|well done
well deserved|well-deserved|great job|good job|nice job|great work|nice one|bravo|hooray|hurray|yay|cheers|birthday
anniversary|work anniversary|years of service|jubilee|celebrat*|proud|you are invited|you're invited|invit*|join us
save the date|rsvp|drinks|summer party|christmas party|office party|team party|happy hour|cake
"""
_SOCIAL_FORMULAS_NL = """
bedank*|dank|dankjewel|dankjulliewel|dankuwel|dankbaar|merci|hartelijk dank|veel dank|ik waardeer|welkom*|tot ziens
tot snel|tot straks|doei|afscheid*|mijn laatste dag|mijn laatste werkdag|mijn eerste dag|mijn eerste werkdag
laatste werkdag|nieuw avontuur|nieuwe uitdaging aan|blijf in contact|houd contact|hou contact|contact houden
in contact blijven|ga jullie missen|zal jullie missen|ga je missen|kijk ernaar uit|kijk er naar uit|kijk uit naar
kijken ernaar uit|kijken er naar uit|blij dat je er bent|versterkt ons team|kennismaken|kennis maken
kennis te maken|leren kennen|fijn dat je er bent|fijn weekend|prettig weekend|goed weekend|fijne dag|fijne vakantie
fijne feestdagen|prettige feestdagen|gelukkig nieuwjaar|veel succes|het ga je goed|alle goeds|gezellig*
leuk om te zien|mooi om te zien|fijn om te zien|gefeliciteerd|proficiat|felicit*|hoera|hiep|jarig|verjaardag*
*jubileum|jubilaris|jaar in dienst|goed gedaan|zeg even hoi|knap gedaan|welverdiend|dik verdiend|trots|vieren
uitgenodigd|uitnodig*|nodig je uit|nodigen jullie uit|*feest|feestje|*taart|gebak|*borrel|vrijmibo|proost
"""
# Vocatives open a message without governing it ("Hi team, here are the lessons ..."): they count as social
# words themselves but do not make their clause ceremonial.
_SALUTATIONS = frozenset("hi hello hey dear hoi hallo hee beste goedemorgen goedemiddag goedenavond".split())
# Formulas that are something else before certain words: "thanks to the new pipeline" gives a cause,
# "take care of the backups" a task.
_NOT_FORMULA_BEFORE = {
    "thanks": ("to the", "to a", "to an", "to this", "to that", "to these", "to those", "to its"),
    "take care": ("of",),
}
# A colon ends a clause only before a space ("Lesson: ..."), not inside "16:00" or "27001:2022".
_CLAUSE = re.compile(r"(?:[^.!?\n:;]|:(?=\S))+")


class _Formulas(NamedTuple):
    """The social lexicon prepared for substring search in " "-padded, space-joined tokens."""

    prefixes: tuple[str, ...]  # " congrat": a token starting with it
    suffixes: tuple[str, ...]  # "borrel ": a token ending with it
    phrases: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]  # first word → (" phrase ", excluded followers)


def _prepare_formulas(*lexicons: str) -> _Formulas:
    prefixes: list[str] = []
    suffixes: list[str] = []
    phrases: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for lexicon in lexicons:
        for entry in lexicon.replace("\n", "|").split("|"):
            entry = entry.strip()
            if entry.endswith("*"):
                prefixes.append(" " + entry[:-1])
            elif entry.startswith("*"):
                suffixes.append(entry[1:] + " ")
            elif entry:
                excluded = tuple(f" {entry} {e} " for e in _NOT_FORMULA_BEFORE.get(entry, ()))
                phrases.setdefault(entry.split()[0], []).append((f" {entry} ", excluded))
    return _Formulas(tuple(prefixes), tuple(suffixes), {k: tuple(v) for k, v in phrases.items()})


_FORMULAS = _prepare_formulas(_SOCIAL_FORMULAS_EN, _SOCIAL_FORMULAS_NL)


def has_social_formula(word_tokens: Sequence[str]) -> bool:
    """True when the tokens contain a gratitude, greeting, farewell, congratulation or invitation formula.

    A phrase must cover whole tokens, a prefix ("congrat*") must start a token and a suffix ("*borrel") end
    one. Plain substring search over the space-joined tokens: much faster than a regex alternation.
    """
    padded = f" {' '.join(word_tokens)} "
    if any(p in padded for p in _FORMULAS.prefixes) or any(s in padded for s in _FORMULAS.suffixes):
        return True
    for first in _FORMULAS.phrases.keys() & word_tokens:
        for phrase, excluded in _FORMULAS.phrases[first]:
            if phrase in padded and (not excluded or padded.count(phrase) > sum(padded.count(e) for e in excluded)):
                return True
    return False


def may_be_social(word_tokens: Sequence[str]) -> bool:
    """Whether any part of the tokens may be social: a formula or a salutation somewhere in them."""
    return not _SALUTATIONS.isdisjoint(word_tokens) or has_social_formula(word_tokens)


def clauses(text: str) -> list[str]:
    """Cut text into clauses at sentence ends, line breaks, colons and semicolons (punctuation dropped)."""
    return [c for c in _CLAUSE.findall(text) if not c.isspace()]


def social_counts(sentence: str, sentence_tokens: Sequence[str] | None = None) -> tuple[int, int]:
    """How much of a sentence is social formula rather than substance: (content words, all words).

    A clause holding a social formula is ceremonial as a whole: the formula governs it ("thanks for the
    collaboration during some very intense projects", "welcome to the data team", "congrats on winning
    the tender"). Salutations ("Hi team, here are the lessons ...") only count themselves. Clauses end at
    sentence ends, line breaks, colons and semicolons, so "Thanks for asking: we ..." keeps its answer.
    """
    words = tokens(sentence) if sentence_tokens is None else sentence_tokens
    if not has_social_formula(words):
        salutations = len([t for t in words if t in _SALUTATIONS])
        return salutations, salutations
    content = total = 0
    for clause in clauses(sentence):
        clause_tokens = tokens(clause)
        if has_social_formula(clause_tokens):
            content += content_words(clause_tokens)
            total += count_words(clause_tokens)
        else:
            salutations = len([t for t in clause_tokens if t in _SALUTATIONS])
            content += salutations
            total += salutations
    return content, total


def social_share(text: str) -> float:
    """Share of the content words of a text that are social formula (see ``social_counts``); 0.0 if none."""
    social = total = 0
    for sentence in sentences(text):
        sentence_tokens = tokens(sentence)
        total += content_words(sentence_tokens)
        social += social_counts(sentence, sentence_tokens)[0]
    return social / total if total else 0.0


# --------------------------------------------------------------------------------------------- stems
_EN_NL_SUFFIXES = ("ingen", "ings", "ing", "ies", "es", "ed", "en", "s", "e")
_DOUBLE_VOWEL = re.compile(r"([aeou])\1")
STEM_LENGTH = 6


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """A light nl/en stem: possessive and one inflection suffix off, doubled vowels single, at most 6 letters.

    Deliberately crude (truncation stemming): it only has to make "acquired"/"acquires", "kantoor"/
    "kantoren", "engineers"/"engineering" meet, not to produce dictionary forms.
    """
    word = token.lstrip("#").split("'", 1)[0]
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix in _EN_NL_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return _DOUBLE_VOWEL.sub(r"\1", word)[:STEM_LENGTH]


def content_stems(word_tokens: Sequence[str]) -> list[str]:
    """Stems of the content words (function words dropped), in order; hashtags count without their '#'."""
    return [stem(t) for t in word_tokens if t not in FUNCTION_WORDS]
