"""Make the English catalog complete: English text is the msgid itself (run after `make messages`)."""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

path = Path(__file__).resolve().parents[1] / "locales/en/LC_MESSAGES/messages.po"
with path.open("rb") as fh:
    catalog = read_po(fh, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        message.string = tuple(message.id)
    else:
        message.string = message.id
    message.flags.discard("fuzzy")
with path.open("wb") as fh:
    write_po(fh, catalog, omit_header=False, sort_output=True, width=110)
