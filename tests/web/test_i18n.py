"""Catalogs: every string marked, translated into Dutch and English, placeholders intact."""

from __future__ import annotations

import ast
import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GETTEXT_NAMES = {"_", "gettext", "_l", "lazy_gettext", "ngettext", "lazy_ngettext", "N_"}
METHOD_MAP = [("plugin/**.py", "python"), ("plugin/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None,
            "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")


def load_catalog(lang: str):
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def source_ids() -> set:
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"plugin/templates/**.html": {}}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_catalog_is_complete_and_not_fuzzy(lang):
    catalog = load_catalog(lang)
    untranslated = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple)
                                                                        and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_marked_string_is_in_the_catalog(lang):
    catalog_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in load_catalog(lang) if m.id}
    missing = sorted(source_ids() - catalog_ids)
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing)


def test_dutch_keeps_every_placeholder():
    for message in load_catalog("nl"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == expected, message.id


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_catalog_compiles(lang):
    catalog = load_catalog(lang)
    assert list(catalog.check()) == []
    buffer = BytesIO()
    write_mo(buffer, catalog)
    assert len(buffer.getvalue()) > 100


def test_no_formatting_inside_gettext_calls():
    """`_(f"…")`, `_("…" % x)` or `_("…".format(x))` cannot be translated: placeholders must be named and
    passed as keywords. (A msgid held in a variable is fine: domain rules mark theirs with N_.)"""
    offenders = []
    formatted = (ast.JoinedStr, ast.BinOp, ast.Call)
    for path in (ROOT / "plugin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_NAMES:
                if node.args and isinstance(node.args[0], formatted):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
