"""Language selection and flask-babel set-up (catalogs live in the top-level locales/ folder)."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import Babel, format_date, format_decimal, get_locale

from .config import LOCALES_DIR

SUPPORTED_LOCALES = ("nl", "en")
DEFAULT_LOCALE = "nl"

babel = Babel()


def normalise_locale(value: str | None) -> str | None:
    """Map a Teams or browser locale such as `nl-NL` or `en_GB` to a supported language, else None."""
    if not value:
        return None
    language = value.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def select_locale() -> str:
    """Teams context (`?locale=`), then the person's setting, then Accept-Language, then Dutch."""
    for candidate in (request.args.get("locale"), getattr(g, "person_locale", None)):
        chosen = normalise_locale(candidate)
        if chosen:
            return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    """Attach flask-babel with our catalogs and locale selector."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(LOCALES_DIR))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Amsterdam")
    babel.init_app(app, locale_selector=select_locale)
    app.context_processor(
        lambda: {"current_locale": str(get_locale()), "format_date": format_date, "format_decimal": format_decimal}
    )
