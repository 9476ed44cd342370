"""Cross-language near-duplicates: a Dutch corporate text posted in English, or an English one posted in Dutch.

Shingles and content stems only meet within one language. A translation keeps other evidence, which this module
turns into language-neutral *keys*, one per content word or number:

* **numbers and amounts**: "€ 2,5 miljoen", "€2.5 million" and "2.500.000" are all ``#2500000``; thousands
  separators and decimal commas/points are told apart by the group length (exactly three digits after every
  separator: thousands), "miljoen/million", "miljard/billion", "duizend/thousand" scale the number before them;
  years, percentages ("38%", "38 procent") and day numbers are numbers too, "€" and "%" the words euro and percent;
* **general bilingual vocabulary** (``LEXICON``): month and day names, numbers in words ("zestig" is ``#60``), and
  frequent general nouns, verbs and adjectives of business news (klant/client, kantoor/office, omzet/revenue,
  groeit/grows, duurzaam/sustainable …) as one concept per line. General language knowledge, like the function
  words of ``plugin.domain.text``, never words taken from a particular post; Dutch compounds meet their head
  ("klanttevredenheid" is satisfaction) and "ge-" participles their verb;
* **names and cognates**: every other word by its orthographic skeleton, accents off, doubled letters single,
  c/k, ph/f, th/t, qu/kw, y/i, z/s, x/ks, Dutch "-atie"/"-iteit"/"-ief"/"-isch" and English "-ation"/"-ity"/"-ive"/
  "-ical" made one, then cut to ``COGNATE_PREFIX`` (5) letters: "digitale"/"digital", "transformatie"/"transformation",
  "investering"/"investment", "kwaliteit"/"quality" meet, and a proper name ("Brainport", "CloudNorth", "Marieke
  Jansen"), product, hashtag or domain ("werkenbijhoogland.nl") is its own key in both languages.

``plugin.domain.classify`` applies it only when a post's language differs from the language of a corporate text,
sentence by sentence, like its same-language corporate-sentence rule (see there): a translated sentence keeps most
of its keys, an own sentence on the same subject only some of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from math import log

from plugin.domain.text import FUNCTION_WORDS, detect_language, parse_body, stem, tokens

__all__ = [
    "COGNATE_PREFIX",
    "LEXICON",
    "CrossIndex",
    "cognate_key",
    "number_keys",
    "sentence_keys",
    "word_key",
    "word_keys",
]

COGNATE_PREFIX = 5
# A post with fewer keys is padded with phantom unmatched ones (as MIN_CONTENT_WORDS in plugin.domain.similarity).
_MIN_KEYS = 10

# One concept per line: English words = Dutch words (any inflection listed; lookups go through the light stem of
# plugin.domain.text, so plurals and most inflections need not be). Numbers map to their digits.
LEXICON = """
today = vandaag
tomorrow = morgen
yesterday = gisteren
week weeks weekly = week weken wekelijks wekelijkse
month months monthly = maand maanden maandelijks maandelijkse
year years annual yearly = jaar jaren jaarlijks jaarlijkse
day days daily = dag dagen dagelijks dagelijkse
hour hours = uur uren
minute minutes = minuut minuten
quarter = kwartaal kwartalen
half = half halve helft
next coming upcoming = volgend volgende komend komende aankomende
last previous past = vorig vorige afgelopen voorgaande
first = eerste
second = tweede
third = derde
fourth = vierde
fifth = vijfde
currently = momenteel moment
soon = binnenkort
morning = ochtend ochtenden
afternoon = middag
evening evenings = avond avonden
night = nacht nachten
spring = voorjaar lente
summer = zomer zomers
autumn = najaar herfst
january = januari
february = februari
march = maart
april = april
june = juni
july = juli
august = augustus
september = september
october = oktober
november = november
december = december
monday = maandag
tuesday = dinsdag
wednesday = woensdag
thursday = donderdag
friday = vrijdag
saturday = zaterdag
sunday = zondag
#1 one = één
#2 two = twee
#3 three = drie
#4 four = vier
#5 five = vijf
#6 six = zes
#7 seven = zeven
#8 eight = acht
#9 nine = negen
#10 ten = tien
#11 eleven = elf
#12 twelve = twaalf
#15 fifteen = vijftien
#20 twenty = twintig
#30 thirty = dertig
#40 forty = veertig
#50 fifty = vijftig
#60 sixty = zestig
#70 seventy = zeventig
#80 eighty = tachtig
#90 ninety = negentig
#100 hundred = honderd
million millions = miljoen miljoenen
billion = miljard
thousand thousands = duizend duizenden
percent percentage = procent
euro euros = euro
company companies business businesses firm = bedrijf bedrijven onderneming ondernemingen
client clients customer customers = klant klanten
employee employees staff workforce = medewerker medewerkers personeel werknemer werknemers
colleague colleagues = collega collega's
people = mensen
office offices branch = kantoor kantoren vestiging vestigingen
revenue turnover sales = omzet
growth grow grows grew grown growing = groei groeit groeien gegroeid groeide groeiden
profit = winst
cost costs = kosten kost
price prices = prijs prijzen
money = geld
agreement = overeenkomst akkoord
cooperation collaboration partnership = samenwerking samenwerkingen samenwerken
together jointly = samen
acquisition acquire acquires acquired takeover = overname overnemen overgenomen
announce announces announced = kondigt aankondigen aangekondigd
launch launches launched launching = lanceert lanceren gelanceerd lancering
open opens opened opening = opent openen opende geopend
close closes closed = sluit sluiten sloot gesloten
start starts started begin begins = start starten startte gestart begint beginnen
new = nieuw nieuwe
large big = groot grote
small = klein kleine
fast quick quickly rapidly = snel snelle
strong stronger strengthen strengthens = sterk sterke sterker versterkt versterken
reinforce reinforces reinforced reinforcing reinforcement = versterking
important = belangrijk belangrijke
proud = trots
thanks thank = dank bedankt
help helps helped = helpen helpt hielp geholpen
work works worked = werk werken werkt werkte gewerkt
job jobs vacancy vacancies = baan banen vacature vacatures
hire hires hiring recruit = aannemen werven
apply applies = solliciteer solliciteren geldt gelden
training = opleiding opleidingen
learn learns learning = leren leert geleerd
development develop develops developed = ontwikkeling ontwikkelen ontwikkelt ontwikkeld
knowledge = kennis
experience experiences = ervaring ervaringen
advice advise advises = advies adviseren adviseert
consultancy = adviesbureau
research study investigation = onderzoek onderzoeken
researcher researchers = onderzoeker onderzoekers
report reports = verslag verslagen rapport rapporten
employer = werkgever
workplace = werkplek
environment = omgeving milieu
sustainable sustainability = duurzaam duurzame duurzaamheid
emissions = uitstoot
safety safe secure security = veilig veilige veiligheid beveiliging
care healthcare = zorg
health = gezondheid
hospital hospitals = ziekenhuis ziekenhuizen
nurse nurses = verpleegkundige verpleegkundigen
doctor doctors physician = arts artsen dokter
government = overheid
municipality municipalities = gemeente gemeenten
country = land
city = stad
world = wereld
dutch netherlands = nederland nederlandse
residents inhabitants = inwoners bewoners
home homes house houses = huis huizen woning woningen thuis
children child = kinderen kind
visitors visitor = bezoekers bezoeker
visit visits = bezoek bezoeken
question questions demand ask asks asked = vraag vragen vraagt vroeg gevraagd
answer = antwoord
solution solutions = oplossing oplossingen
choice choices = keuze keuzes
goal goals target aim = doel doelen
future = toekomst
change changes changed = verandering veranderingen veranderen verandert veranderd
satisfaction = tevredenheid
market markets = markt markten
improvement improve improves = verbetering verbeteren verbetert verbeterd
support supports supported = ondersteuning ondersteunt ondersteunen steun
contribution contribute = bijdrage bijdragen
value = waarde
reduce reduces reduced reduction cut = verminderen vermindert verlagen verlaagt verlaagd reductie daling daalt daalde
increase increases increased rise rises rose raise raised = stijging stijgt steeg stijgen verhogen verhoogt verhoogd
high higher highest = hoog hoge hoger hogere hoogste
low lower = laag lage lager lagere
say says said = zegt zeggen zei aldus
show shows showed = laat laten toont tonen
expect expects expected = verwacht verwachten
need needs needed = nodig
make makes made = maken maakt maakte gemaakt
give gives = geven geeft
receive receives received get gets = ontvangen ontvangt krijgen krijgt kreeg gekregen
keep keeps stay stays = houden houdt hou houd blijven blijft
find finds found = vinden vindt vond gevonden
see sees saw = zie ziet zien zag
possible = mogelijk mogelijke
read = lees lezen
share shares shared = delen deel deelt gedeeld
join = meedoen
sign = aanmelden meld inschrijven schrijf
check verify verified = controleer controleren gecontroleerd
use uses used using = gebruik gebruiken gebruikt
build builds built = bouwen bouwt bouwde gebouwd
deliver delivers delivered = levert leveren leverde geleverd
treat treats treated handle handles = behandelen behandelt behandeld behandelde
measure measures measured = meten meet gemeten
protect protects = beschermen beschermt
lead leads = leiden leidt
follow follows = volgen volgt
explain = toelichten uitleggen
responsible = verantwoordelijk verantwoord verantwoorde
confirm confirms confirmed = bevestigt bevestigen bevestigd
standard standards norm norms = norm normen standaard standaarden
data = gegevens
full fully whole complete entire = volledig volledige hele gehele helemaal
best = beste
good = goed goede
great wonderful = geweldig geweldige
better = beter betere
clear = duidelijk duidelijke
free = gratis
green = groen groene
clean cleaner = schoon schone schoner
dry drier = droog droge droger
news = nieuws
message = bericht
board = bestuur directie
chair chairman = voorzitter
member members = lid leden
farmers farmer = boeren boer
road roads = weg wegen
car cars = auto auto's
heart = hart
blood = bloed
pressure = druk
weight = gewicht
flu = griep
nobody = niemand
everyone everybody = iedereen
thing things = ding dingen
time times = tijd keer
step steps = stap stappen
stop stops stopped = stoppen stopt gestopt
idea ideas = idee ideeën
room space = ruimte
often = vaak
save saves saved = besparen bespaart bespaard
busy = druk
waiting = wachten wacht
list = lijst
appointment = afspraak
injured = gewond
"""


def _lexicon(source: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Each listed word → its concept key (the first English word, or a number), and each light stem → the concept
    and the shortest listed word with that stem (so that "cars" is a car, not "care", and "healthy" health, not
    "healthcare")."""
    words: dict[str, str] = {}
    for line in source.strip().splitlines():
        english, dutch = line.split("=")
        listed = english.split() + dutch.split()
        concept = listed[0] if listed[0].startswith("#") else "=" + listed[0]
        for word in listed[listed[0].startswith("#") :]:
            words.setdefault(word, concept)
    stems: dict[str, tuple[str, str]] = {}
    for word in sorted(words, key=len):
        stems.setdefault(stem(word), (words[word], word))
    return words, stems


def _tables(source: str) -> None:
    """(Re)build the lookup tables of a lexicon (a module-level setting; tests may swap the lexicon)."""
    global _WORDS, _CONCEPTS, _HEADS, _MODIFIERS
    _WORDS, _CONCEPTS = _lexicon(source)
    # Dutch compounds meet their parts: the head ("jaarverslag" → verslag, "klanttevredenheid" → tevredenheid; full
    # Dutch words of the lexicon of at least _HEAD letters) and the modifier ("klantgegevens" → klant, with or without
    # the linking s of "veiligheidsnormen"; at least _MODIFIER letters).
    dutch = {w: _WORDS[w] for line in source.strip().splitlines() for w in line.split("=")[1].split()}
    _HEADS = {w: c for w, c in dutch.items() if len(w) >= _HEAD}
    _MODIFIERS = tuple(sorted(((w, c) for w, c in dutch.items() if len(w) >= _MODIFIER), key=lambda wc: -len(wc[0])))
    word_keys.cache_clear()
    _token_keys.cache_clear()


_HEAD = 5
_MODIFIER = 4
_WORDS: dict[str, str] = {}
_CONCEPTS: dict[str, tuple[str, str]] = {}
_HEADS: dict[str, str] = {}
_MODIFIERS: tuple[tuple[str, str], ...] = ()
_COMPOUND = 8  # letters from which a word may be a compound

# Closed-class words that the function-word lists of plugin.domain.text leave out (prepositions, adverbs and
# connectives); they carry no content in either language.
_CLOSED = frozenset(
    """
between during through throughout without within across behind among against towards toward around via per
already especially again almost less least further furthermore however therefore thus instead rather else
including regarding according about above below along amongst beyond upon whereas besides
vanaf volgens zoals daarmee daarvan daarvoor daarop daaraan hierdoor hiermee hierbij hiervoor echter namelijk
ongeveer zo'n ruim onder andere onder meer vooral ofwel zowel tegelijk tegelijkertijd verder eerder later
eigen iets allemaal hetzelfde dezelfde ene andere ander ooit mede minder toe los weg heen
""".split()
)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s*(miljoen|million|mln|miljard|billion|bn|duizend|thousand))?", re.IGNORECASE)
# A clock time: "9 pm", "9.30 a.m.", "21:00" (the minutes after a colon would otherwise be a number of their own).
_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\b\.?|\b(\d{1,2}):(\d{2})\b", re.IGNORECASE)
_SCALE = {
    "miljoen": 1e6,
    "million": 1e6,
    "mln": 1e6,
    "miljard": 1e9,
    "billion": 1e9,
    "bn": 1e9,
    "duizend": 1e3,
    "thousand": 1e3,
}
_DIGIT = re.compile(r"\d")

# Orthographic skeleton: suffixes made one across the languages, then letters.
_SUFFIXES = (
    ("ations", "atie"),
    ("ation", "atie"),
    ("aties", "atie"),
    ("itions", "itie"),
    ("ition", "itie"),
    ("ities", "iteit"),
    ("ity", "iteit"),
    ("iteiten", "iteit"),
    ("ieve", "ief"),
    ("ive", "ief"),
    ("ische", "isch"),
    ("ical", "isch"),
    ("isme", "ism"),
)
_LETTERS = (("ph", "f"), ("th", "t"), ("qu", "kw"), ("c", "k"), ("y", "i"), ("z", "s"), ("x", "ks"))
_DOUBLE = re.compile(r"(.)\1+")


def number_keys(text: str) -> set[str]:
    """The numbers and amounts of a text, normalised: "€ 2,5 miljoen", "€2.5 million" and "2.500.000" → #2500000."""
    if _DIGIT.search(text) is None:
        return set()
    keys: set[str] = set()
    text = _CLOCK.sub(_clock, text)
    for found in _NUMBER.finditer(text):
        digits = found.group(0)
        scale = found.group(1)
        if scale:
            digits = digits[: found.start(1) - found.start(0)].strip()
        groups = re.split(r"[.,]", digits)
        if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]) and not (scale and len(groups) == 2):
            value = float("".join(groups))  # thousands separators: "2.500", "1,200", "60.000"
        elif len(groups) > 1:
            value = float(f"{''.join(groups[:-1])}.{groups[-1]}")  # a decimal comma or point: "2,5", "8.4"
        else:
            value = float(digits)
        if scale:
            value *= _SCALE[scale.lower()]
        keys.add(_number(value))
    return keys


def _clock(found: re.Match[str]) -> str:
    """A clock time on the 24-hour clock, whole hours as the hour alone: "9 pm" and "21:00" are "21", as "21.00"."""
    if found.group(4):
        hour, minutes, half = int(found.group(4)), found.group(5), ""
    else:
        hour, minutes, half = int(found.group(1)), found.group(2), found.group(3).lower()
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return f"{hour}" if minutes in (None, "00") else f"{hour}:{minutes}"


def _number(value: float) -> str:
    """A canonical key for a number."""
    return f"#{int(value)}" if value == int(value) else f"#{round(value, 4)}"


def cognate_key(word: str) -> str:
    """The orthographic skeleton of a word, cut to ``COGNATE_PREFIX`` letters ("digitale" and "digital": "digit")."""
    word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    if len(word) >= 8 and word.startswith("ge"):
        word = word[2:]  # Dutch participle: "gecertificeerd" meets "certified"
    for suffix, common in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            word = word[: -len(suffix)] + common
            break
    for letters, common in _LETTERS:
        if letters in word:
            word = word.replace(letters, common)
    return _DOUBLE.sub(r"\1", word)[:COGNATE_PREFIX]


def word_key(token: str) -> str:
    """The language-neutral key of one (lower-case) word: its concept in ``LEXICON`` or its cognate key."""
    return word_keys(token)[0]


@lru_cache(maxsize=65536)
def word_keys(token: str) -> tuple[str, ...]:
    """The keys of one (lower-case) word: its concept, or the concepts of a Dutch compound's parts, or its cognate."""
    word = token.lstrip("#")
    concept = _concept(word)
    if concept is None and len(word) > 4 and word[-1] in "td":
        concept = _concept(word[:-1])  # Dutch verb forms: "groeit", "verlaagd"
    if concept is None and len(word) > 6 and word.startswith("ge"):
        concept = _concept(word[2:]) or _concept(word[2:-1])  # "geopend", "gegroeid"
    if len(word) >= _COMPOUND:
        head = next((_HEADS[word[i:]] for i in range(2, len(word) - _HEAD + 1) if word[i:] in _HEADS), None)
        modifier = concept or next(
            (c for w, c in _MODIFIERS if word.startswith(w) and len(word) - len(w) >= _MODIFIER), None
        )
        parts = tuple(dict.fromkeys(c for c in (modifier, head) if c is not None))
        if parts:
            return parts
    return (concept or cognate_key(word),)


def _concept(word: str) -> str | None:
    """The concept of a listed word or of an inflection of one: same light stem, and all but the last two letters of
    the listed word (at least four) in common: "cars" is "car", "moment" "momenteel", but "comes" is not "coming" and
    "overgestapt" not "overgenomen"."""
    concept = _WORDS.get(word)
    if concept is not None:
        return concept
    found = _CONCEPTS.get(stem(word))
    if found is None:
        return None
    listed = found[1]
    return found[0] if word.startswith(listed[: max(len(listed) - 3, 4)]) else None


def sentence_keys(text: str, word_tokens: Sequence[str] | None = None) -> set[str]:
    """The language-neutral keys of a sentence or text: its numbers and the keys of its content words."""
    words = tokens(text) if word_tokens is None else word_tokens
    keys = number_keys(text)
    keys.update(chain.from_iterable(map(_token_keys, words)))
    if "€" in text:
        keys.add("=euro")
    if "%" in text:
        keys.add("=percent")
    return keys


@lru_cache(maxsize=65536)
def _token_keys(token: str) -> tuple[str, ...]:
    """The keys of a token, none for function and closed-class words, hashtags, numbers (see ``number_keys``) and
    single letters."""
    if len(token) < 2 or token[0] == "#" or token[0].isdigit() or token in FUNCTION_WORDS or token in _CLOSED:
        return ()
    return word_keys(token)


_tables(LEXICON)


class CrossIndex:
    """The keys of every corporate text, its language, key weights and an inverted index of distinctive keys.

    Built like ``plugin.domain.similarity.CorporateIndex``: weights ``ln(1 + N / df)``, a key outside the library
    weighing as much as the rarest one; candidates are the texts in the other language sharing most keys held
    by at most ``max(CANDIDATE_DF, N / 10)`` texts.
    """

    __slots__ = ("_candidates", "_keys", "_unseen", "_weights", "languages")

    CANDIDATES = 3
    CANDIDATE_DF = 20

    def __init__(self, texts: Iterable[str]) -> None:
        key_sets: list[frozenset[str]] = []
        languages: list[str] = []
        postings: dict[str, list[int]] = {}
        for text_id, text in enumerate(texts):
            own = parse_body(text).own
            words = tokens(own)
            languages.append(detect_language(words))
            keys = frozenset(sentence_keys(own, words))
            key_sets.append(keys)
            for key in keys:
                postings.setdefault(key, []).append(text_id)
        count = len(key_sets)
        max_df = max(self.CANDIDATE_DF, count // 10)
        self._keys: tuple[frozenset[str], ...] = tuple(key_sets)
        self.languages: tuple[str, ...] = tuple(languages)
        self._weights = {k: log(1 + count / len(v)) for k, v in postings.items()}
        self._candidates = {k: tuple(v) for k, v in postings.items() if len(v) <= max_df}
        self._unseen = log(1 + count)

    def other_language(self, language: str) -> bool:
        """Whether the library holds a text in a language (nl/en) other than ``language``."""
        return language != "und" and any(lang not in ("und", language) for lang in self.languages)

    def match(self, keys: set[str], language: str) -> tuple[float, int | None]:
        """The text in another language containing most of the keys (idf-weighted share of them), and its index."""
        weights = self._weights
        known = weights.keys() & keys
        postings = self._candidates
        other = self.languages
        hits = Counter(
            t
            for t in chain.from_iterable(map(postings.__getitem__, postings.keys() & keys))
            if other[t] not in ("und", language)
        )
        if not hits or language == "und":
            return 0.0, None
        padding = max(0, _MIN_KEYS - len(keys))
        total = sum(map(weights.__getitem__, known)) + (len(keys) - len(known) + padding) * self._unseen
        best: tuple[float, int | None] = (0.0, None)
        for text_id in sorted(t for t, _ in hits.most_common(self.CANDIDATES)):
            share = sum(map(weights.__getitem__, known & self._keys[text_id])) / total
            if share > best[0]:
                best = (share, text_id)
        return best

    def containment(self, keys: set[str], text_id: int) -> float:
        """Share of the keys found in one corporate text."""
        return len(keys & self._keys[text_id]) / len(keys) if keys else 0.0
