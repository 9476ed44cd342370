"""Message markers and bilingual text for domain rules (translated only in the web layer)."""

from __future__ import annotations

from dataclasses import dataclass

LOCALES = ("en", "nl")


def N_(message: str) -> str:
    """Mark `message` as a msgid for extraction (`pybabel extract -k N_`); returns it unchanged."""
    return message


@dataclass(frozen=True, slots=True)
class Text:
    """Programme content in English and Dutch (data, not gettext: it lives in the programme file)."""

    en: str
    nl: str

    def get(self, locale: str | None) -> str:
        """The text for `locale` ("nl", "nl-NL", "en-GB" …); English for anything else."""
        return self.nl if locale and locale.lower().startswith("nl") else self.en
