"""Read RSS 2.0 and Atom 1.0 documents into entries, safely: no DTDs, so no entity expansion or external entities.

The parser is the standard library's expat, driven directly so that a document declaring a DOCTYPE (the
only way to define entities) is refused before anything is expanded, as ``defusedxml`` does with
``forbid_dtd``. Elements are read by local name in the RSS and Atom namespaces; unknown elements are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.parsers import expat

ATOM = "http://www.w3.org/2005/Atom"
_SEP = "\x1f"
MAX_ENTRIES = 200


class FeedError(ValueError):
    """The document is not a feed this module can read (malformed XML, a DTD, neither RSS nor Atom)."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: its identity, link, title, summary (may hold HTML), time and language."""

    guid: str
    link: str
    title: str
    summary: str
    published: datetime | None
    language: str | None


@dataclass
class _Node:
    name: str  # "{namespace}local" or "local"
    attrs: dict[str, str]
    children: list[_Node]
    text: list[str]

    def local(self) -> str:
        return self.name.rpartition("}")[2]

    def find(self, local: str) -> _Node | None:
        return next((c for c in self.children if c.local() == local), None)

    def all(self, local: str) -> list[_Node]:
        return [c for c in self.children if c.local() == local]

    def value(self) -> str:
        return "".join(self.text).strip()


def _tree(data: bytes) -> _Node:
    parser = expat.ParserCreate(namespace_separator=_SEP)
    root = _Node("", {}, [], [])
    stack = [root]

    def refuse_dtd(*_args: object) -> None:
        raise FeedError("the document declares a DTD, which feeds do not need")

    def start(name: str, attrs: dict[str, str]) -> None:
        uri, sep, local = name.rpartition(_SEP)
        node = _Node(f"{{{uri}}}{local}" if sep else name, dict(attrs), [], [])
        stack[-1].children.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        stack[-1].text.append(data)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FeedError(f"not well-formed XML ({expat.errors.messages.get(exc.code, exc.code)}, line {exc.lineno})"
                        ) from None
    if not root.children:
        raise FeedError("the document is empty")
    return root.children[0]


def parse_feed(data: bytes) -> list[FeedEntry]:
    """The entries of an RSS 2.0 or Atom document, in document order; FeedError when it is neither."""
    top = _tree(data)
    if top.local() == "rss":
        channel = top.find("channel")
        if channel is None:
            raise FeedError("an RSS document without a channel")
        language = _language(channel.find("language"))
        return [e for e in (_rss_item(i, language) for i in channel.all("item")[:MAX_ENTRIES]) if e]
    if top.name == f"{{{ATOM}}}feed":
        language = _lang_attr(top)
        return [e for e in (_atom_entry(i, language) for i in top.all("entry")[:MAX_ENTRIES]) if e]
    raise FeedError(f"neither RSS nor Atom (the root element is {top.local()!r})")


def _language(node: _Node | None) -> str | None:
    code = node.value().lower()[:2] if node is not None else ""
    return code if code in ("nl", "en") else None


def _lang_attr(node: _Node) -> str | None:
    code = node.attrs.get(f"http://www.w3.org/XML/1998/namespace{_SEP}lang", "").lower()[:2]
    return code if code in ("nl", "en") else None


def _text(node: _Node | None) -> str:
    return node.value() if node is not None else ""


def _rss_item(item: _Node, language: str | None) -> FeedEntry | None:
    link = _text(item.find("link"))
    guid = _text(item.find("guid")) or link
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    if not link:
        return None
    return FeedEntry(guid=guid, link=link, title=_text(item.find("title")),
                     summary=_text(item.find("description")), published=_rfc822(_text(item.find("pubDate"))),
                     language=language)


def _atom_entry(entry: _Node, language: str | None) -> FeedEntry | None:
    links = entry.all("link")
    chosen = next((n for n in links if n.attrs.get("rel", "alternate") == "alternate"), links[0] if links else None)
    link = chosen.attrs.get("href", "").strip() if chosen is not None else ""
    if not link:
        return None
    summary = _text(entry.find("summary")) or _text(entry.find("content"))
    published = _iso(_text(entry.find("published")) or _text(entry.find("updated")))
    return FeedEntry(guid=_text(entry.find("id")) or link, link=link, title=_text(entry.find("title")),
                     summary=summary, published=published, language=_lang_attr(entry) or language)


def _rfc822(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
