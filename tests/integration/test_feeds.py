"""Feed import over real HTTP: a tiny threaded server serves RSS and Atom files; the periodic job fetches them with
conditional requests, adds each entry once, and records (without crashing) broken, slow and hostile feeds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from plugin.models import Feed, LibraryItem
from tests.web.coaching_world import COACH, World, build_world

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Nieuws</title><language>nl-nl</language>
<item><title>Nieuwe regels voor &lt;b&gt;btw&lt;/b&gt; in 2027</title><link>https://news.example.com/btw-2027</link>
<guid>btw-2027</guid><description>&lt;p&gt;Wat verandert er voor ondernemers?&lt;/p&gt;</description>
<pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>Dubbel bericht</title><link>https://news.example.com/btw-2027</link><guid>copy-of-btw</guid></item>
<item><title>Lokaal</title><link>javascript:alert(1)</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Tech</title>
<entry><id>urn:tech:1</id><title>Cloud costs explained</title><link href="https://tech.example.com/cloud"/>
<updated>2026-11-03T10:00:00Z</updated><summary>How to keep cloud bills down.</summary></entry>
<entry><id>urn:tech:2</id><title type="html">&lt;i&gt;AI&lt;/i&gt; at work</title>
<link rel="alternate" href="https://tech.example.com/ai"/><content>Practical uses.</content></entry>
</feed>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">
]><rss version="2.0"><channel><item><title>&lol2;</title><link>https://evil.example.com/</link></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&x;</title><link>https://evil.example.com/x</link></item></channel></rss>"""


@dataclass
class FeedServer:
    """The served documents by path, and the conditional headers each request carried."""

    documents: dict[str, bytes]
    etag: str = '"v1"'
    seen: list[dict[str, str | None]] = field(default_factory=list)
    port: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer({"/nieuws.xml": RSS, "/tech.atom": ATOM, "/broken.xml": b"<rss><channel><item>",
                        "/html": b"<html><body>Not a feed</body></html>", "/laughs.xml": BILLION_LAUGHS,
                        "/xxe.xml": EXTERNAL_ENTITY, "/huge.xml": b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>"})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state.seen.append({"path": self.path, "if-none-match": self.headers.get("If-None-Match"),
                               "if-modified-since": self.headers.get("If-Modified-Since")})
            if self.path == "/slow.xml":
                state.release.wait(10)  # longer than the client waits; released when the test ends
                return
            if self.path == "/missing.xml":
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            body = state.documents[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", state.etag)
            self.send_header("Last-Modified", "Tue, 03 Nov 2026 10:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def world(client, authority, session) -> World:
    return build_world(client, authority, session)


def register(world: World, url: str, topic: str = "fiscaal") -> int:
    answer = world.post(COACH, "/api/library/feeds", {"url": url, "topic": topic})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def run_import(app) -> int:
    return app.extensions["tasks"]["import_feeds"].call_local()


def items(session) -> list[LibraryItem]:
    session.expire_all()
    return list(session.scalars(select(LibraryItem).order_by(LibraryItem.url)))


def test_rss_and_atom_entries_become_library_items_once(app, world, session, feed_server):
    register(world, feed_server.url("/nieuws.xml"))
    register(world, feed_server.url("/tech.atom"), topic="tech")
    assert run_import(app) == 3

    found = {i.url: i for i in items(session)}
    assert set(found) == {"https://news.example.com/btw-2027", "https://tech.example.com/cloud",
                          "https://tech.example.com/ai"}  # the duplicate link and the javascript: link are left out
    btw = found["https://news.example.com/btw-2027"]
    assert btw.title["nl"] == "Nieuwe regels voor btw in 2027" and btw.summary["nl"] == "Wat verandert er voor " \
        "ondernemers?" and btw.topics == ["fiscaal"]
    assert found["https://tech.example.com/ai"].title["en"] == "AI at work"
    assert found["https://tech.example.com/ai"].topics == ["tech"]

    listed = world.get(COACH, "/api/library").get_json()["items"]
    assert {i["url"] for i in listed} == set(found)


def test_a_second_fetch_is_conditional_and_a_304_adds_nothing(app, world, session, feed_server):
    register(world, feed_server.url("/nieuws.xml"))
    assert run_import(app) == 1
    assert run_import(app) == 0
    first, second = [s for s in feed_server.seen if s["path"] == "/nieuws.xml"]
    assert first["if-none-match"] is None
    assert second["if-none-match"] == '"v1"' and second["if-modified-since"] == "Tue, 03 Nov 2026 10:00:00 GMT"
    assert len(items(session)) == 1

    feed_server.etag = '"v2"'  # the feed changed, but its entries are known already: no duplicates
    assert run_import(app) == 0
    assert len(items(session)) == 1
    feed = session.scalar(select(Feed))
    assert feed.etag == '"v2"' and feed.error is None and feed.last_fetched_at is not None


@pytest.mark.parametrize("path,error", [
    ("/broken.xml", "not well-formed"),
    ("/html", "neither RSS nor Atom"),
    ("/missing.xml", "HTTP 404"),
    ("/laughs.xml", "DTD"),
    ("/xxe.xml", "DTD"),
    ("/huge.xml", "larger than"),
])
def test_a_bad_feed_records_its_error_and_the_others_still_import(app, world, session, feed_server, path, error):
    bad = register(world, feed_server.url(path))
    register(world, feed_server.url("/tech.atom"), topic="tech")
    assert run_import(app) == 2
    session.expire_all()
    assert error in session.get(Feed, bad).error
    assert {i.url for i in items(session)} == {"https://tech.example.com/cloud", "https://tech.example.com/ai"}
    assert all("evil" not in i.url and "root:" not in str(i.title) for i in items(session))
    shown = world.get(COACH, "/api/library/feeds").get_json()["feeds"]
    assert any(f["id"] == bad and error in f["error"] for f in shown)


def test_a_feed_that_does_not_answer_in_time_is_recorded(app, world, session, feed_server):
    app.config["FEED_TIMEOUT_SECONDS"] = 0.3
    slow = register(world, feed_server.url("/slow.xml"))
    register(world, feed_server.url("/tech.atom"), topic="tech")
    assert run_import(app) == 2  # the other feed still imports
    session.expire_all()
    assert session.get(Feed, slow).error == "the feed did not answer in time"


@pytest.mark.parametrize("body,field", [
    ({"url": "file:///etc/passwd", "topic": "x"}, "url"),
    ({"url": "https://example.com/feed", "topic": ""}, "topic"),
    ({"url": "https://example.com/feed"}, "topic"),
])
def test_invalid_feeds_are_refused(world, session, body, field):
    answer = world.post(COACH, "/api/library/feeds", body)
    assert answer.status_code == 400 and answer.get_json()["field"] == field
    assert session.scalar(select(func.count()).select_from(Feed)) == 0
