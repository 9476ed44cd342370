"""Apply Dutch translations kept in locales/pending/*.json to the nl catalog (run after `make messages`).

Each JSON file maps an English msgid to its Dutch text; a plural msgid (the singular form as key) maps to a
list with the Dutch singular and plural. Files are applied in name order; an existing translation is only
replaced when a pending file gives a different one.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "locales/nl/LC_MESSAGES/messages.po"


def main() -> int:
    """Merge every pending file into the nl catalog and report what is still untranslated."""
    pending: dict[str, object] = {}
    for path in sorted((ROOT / "locales/pending").glob("*.json")):
        pending.update(json.loads(path.read_text(encoding="utf-8")))
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key in pending:
            value = pending[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
        text = message.string
        if not text or (isinstance(text, tuple) and not all(text)):
            missing.append(key)
    with CATALOG.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=110)
    for key in missing:
        print(f"untranslated (nl): {key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
