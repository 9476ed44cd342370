"""The Yammer emulator: Yammer REST v1 (Viva Engage) over a :class:`Scenario`, as its own Flask app.

Mount the app from :func:`create_yammer_app` at ``/dev/yammer`` (werkzeug ``DispatcherMiddleware``); clients use
``YAMMER_BASE_URL = <APP_BASE_URL>/dev/yammer/api/v1``. The state is ``app.extensions["yammer_emulator"]``
(:class:`YammerEmulator`): ``faults`` (:class:`~plugin.sandbox.yammer_limits.YammerFaults`, the same shape as
the Graph emulator's: ``throttle(count, retry_after)``, ``unavailable(count, status=503|504, retry_after)``,
``slow(seconds, count)``, each with an optional ``path_prefix``, and ``clear()``), ``posted`` (messages created
through the API), ``requests`` (the latest API requests), ``limiter`` (``reset()`` between tests) and ``sleep``
(how slow faults wait; tests may replace it). Dev-only routes without a token: ``GET /_log``, and
``GET|POST|DELETE /_faults`` with ``{"kind": "throttle"|"unavailable"|"slow", "count", "retryAfter", "status",
"seconds", "pathPrefix"}``.

Routes (relative to the mount point), all needing ``Authorization: Bearer <token>``:

* ``GET /api/v1/messages/in_group/{group_id}.json`` with ``older_than``, ``newer_than`` (message ids),
  ``threaded=true|extended`` and ``limit`` (default and maximum 20; larger values are capped, not refused).
* ``GET /api/v1/messages/{id}.json``: the bare message object (as in the captured reference response).
* ``POST /api/v1/messages.json`` (form or JSON): ``body`` and ``group_id`` or ``replied_to_id``; 201 with the
  feed envelope holding the new message, created in the scenario as the token's user.

Choices where the reference is silent or says "unconfirmed" (documented behaviour was followed):

* Tokens: RS256 tokens of the dev authority with ``aud`` ``https://api.yammer.com`` (also accepted with a
  trailing slash or as the Yammer app id ``00000005-0000-0ff1-ce00-000000000000``) and this tenant's ``tid``.
  A missing, malformed, foreign, expired (beyond the authority's 5-minute skew) or wrong-audience token gets
  401 ``{"response":{"message":"Token not found.","code":16,"stat":"fail"}}``.
* Only delegated access is supported (documented): an app-only token (``idtyp: app`` or no ``scp``) gets 403
  ``{"response":{"message":"Only delegated access is supported for Yammer APIs.","code":403,"stat":"fail"}}``.
  The delegated scope's name is not checked. A user the scenario does not know gets 403 with the message
  "The user is not a member of this network.". Errors other than code 16 carry the HTTP status as ``code``.
* Feeds are ordered by message id, newest first (Yammer ids grow with time). ``threaded=true`` pages over
  thread starters only. ``threaded=extended`` pages over thread starters too and puts the (up to) two latest
  replies of each thread, oldest first, in the envelope's ``threaded_extended`` object keyed by thread id
  (a string); replies do not appear in ``messages``. ``older_than`` and ``newer_than`` may be combined; with
  ``newer_than`` alone the newest ``limit`` messages are returned and ``meta.older_available`` says whether
  more new messages lie between ``newer_than`` and the oldest one shown (page on with ``older_than``).
* ``meta`` carries ``older_available``, ``requested_poll_interval`` (60: "poll no more than once per minute"),
  ``current_user_id``, ``feed_name`` and ``feed_desc``; ``references`` list the senders and mentioned users,
  the group and each thread (with ``stats``). ``liked_by.names`` lists every liker.
* Every community is public to every member of the network; mentions are ``[[user:<id>]]`` in
  ``body.parsed`` and ``@<permalink>`` (the UPN's local part) in ``body.plain``.
* Rate limit: 10 requests per user (``oid``) per app (``appid``/``azp``) in any sliding 30 s of the injected
  clock, for all these routes. Refused requests do not count. The 11th gets 429 with ``Retry-After`` (whole
  seconds until the oldest counted request leaves the window) and
  ``{"response":{"message":"Rate limited due to excessive requests.","code":429,"stat":"fail"}}``; injected
  throttling answers the same way. Injected 503s answer
  ``{"response":{"message":"Service temporarily unavailable.","code":503,"stat":"fail"}}`` (504: "Gateway
  timeout.").
* Order of checks, as in the Graph emulator: the token, then injected faults (a delay, then a 429/503/504), then
  the rate limit; requests answered by an injected fault do not count against it.
* ``direct_to_user_ids`` (private messages) is refused with 400: the sandbox has no direct messages.
* Edits and deletions (``YammerEmulator.edit_message`` / ``delete_message``, for tests and the demo): an edited
  message keeps its id and place and shows the new text; the v1 message JSON has no edit time, as in the
  captured response. A deleted message disappears from every feed and ``GET /messages/{id}.json`` answers 404,
  which is all the v1 API shows of a deletion (there is no deletion feed).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.aad_registry import YAMMER_RESOURCE
from plugin.sandbox.dev_routes import register_dev_routes
from plugin.sandbox.scenario import CommunityMessage, Scenario, ScenarioCommunity, ScenarioPerson
from plugin.sandbox.yammer_index import CommunityIndex
from plugin.sandbox.yammer_limits import SlidingWindowLimiter, YammerFaults
from plugin.sandbox.yammer_render import (
    RenderContext,
    fail_body,
    message_json,
    references,
    yammer_user_id,
)

YAMMER_APP_ID = "00000005-0000-0ff1-ce00-000000000000"
YAMMER_AUDIENCES = (YAMMER_RESOURCE, f"{YAMMER_RESOURCE}/", YAMMER_APP_ID)
PAGE_LIMIT = 20
POLL_INTERVAL = 60
EXTENDED_REPLIES = 2
TOKEN_NOT_FOUND = "Token not found."  # noqa: S105 - an error message, not a secret
RATE_LIMITED = "Rate limited due to excessive requests."
_UNAVAILABLE = {503: "Service temporarily unavailable.", 504: "Gateway timeout."}


class YammerError(Exception):
    """An error answer in Yammer's ``{"response": {...}}`` shape."""

    def __init__(self, status: int, message: str, code: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = status if code is None else code
        self.retry_after = retry_after


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the emulator saw it."""

    at: float
    method: str
    path: str
    status: int
    user_oid: str | None


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request."""

    oid: str
    app_id: str
    person: ScenarioPerson


class YammerEmulator:
    """State of one emulator: scenario, authority, clock, rate limiter, faults and the record of requests."""

    def __init__(self, scenario: Scenario, authority: DevAuthority, clock: Callable[[], float]) -> None:
        self.scenario = scenario
        self.authority = authority
        self.clock = clock
        self.limiter = SlidingWindowLimiter(clock)
        self.faults = YammerFaults()
        self.index = CommunityIndex(scenario)
        #: Messages created through ``POST /messages.json``, in order.
        self.posted: list[CommunityMessage] = []
        #: The last 10,000 API requests.
        self.requests: deque[RequestRecord] = deque(maxlen=10_000)
        #: How ``slow`` faults wait; tests may replace it.
        self.sleep: Callable[[float], None] = time.sleep
        self._posted_ids: set[int] = set()
        self._people_seen = -1
        self._by_yammer_id: dict[int, ScenarioPerson] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget rate-limit history and pending faults."""
        self.limiter.reset()
        self.faults.clear()

    def authenticate(self, header: str | None) -> Caller:
        """The caller of a request with this ``Authorization`` header; raises :class:`YammerError`."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise YammerError(401, TOKEN_NOT_FOUND, 16)
        try:
            claims = self.authority.verify_token(token.strip(), audience=YAMMER_AUDIENCES)
        except jwt.PyJWTError as exc:
            raise YammerError(401, TOKEN_NOT_FOUND, 16) from exc
        if claims.get("tid") != self.authority.tenant_id:
            raise YammerError(401, TOKEN_NOT_FOUND, 16)
        if claims.get("idtyp") == "app" or not claims.get("scp"):
            raise YammerError(403, "Only delegated access is supported for Yammer APIs.")
        oid = str(claims.get("oid", ""))
        person = self.scenario.people.get(oid)
        if person is None:
            raise YammerError(403, "The user is not a member of this network.")
        return Caller(oid, str(claims.get("appid") or claims.get("azp") or ""), person)

    def render_context(self, api_base: str) -> RenderContext:
        """Lookups for rendering, with URLs under ``api_base``."""
        people = self.scenario.people
        with self._lock:
            if len(people) != self._people_seen:
                self._by_yammer_id = {yammer_user_id(p): p for p in list(people.values())}
                self._people_seen = len(people)
            by_yammer_id = self._by_yammer_id
        return RenderContext(
            api_base=api_base,
            web_base=f"https://www.yammer.com/{self.network_permalink()}",
            people=people,
            by_yammer_id=by_yammer_id,
            posted_ids=self._posted_ids,
            thread_ids=self.index.thread,
        )

    def network_permalink(self) -> str:
        """The network's name in web URLs: the domain of the first person's UPN."""
        for person in self.scenario.people.values():
            if "@" in person.upn:
                return person.upn.split("@", 1)[1].lower()
        return "sandbox.example"

    def log(self, last: int = 100) -> dict[str, Any]:
        """Posted messages and the latest ``last`` requests, as JSON."""
        with self._lock:
            posted = [
                {"id": m.id, "group_id": m.community_id, "sender_oid": m.sender_oid, "replied_to_id": m.replied_to_id}
                for m in self.posted
            ]
        requests = list(self.requests)[-last:]
        return {"posted": posted, "requests": [asdict(record) for record in requests]}

    def record_post(self, message: CommunityMessage) -> None:
        """Remember a message created through the API."""
        with self._lock:
            self.posted.append(message)
            self._posted_ids.add(message.id)

    def edit_message(self, message_id: int, body: str) -> None:
        """Change a message's text, as its author's edit in Viva Engage does (KeyError when unknown)."""
        with self.scenario._lock:
            self.scenario.community_messages[message_id].body_plain = body

    def delete_message(self, message_id: int) -> None:
        """Delete a message (KeyError when unknown): gone from every feed, and 404 on ``GET /messages/{id}``."""
        self.index.remove(message_id)


def create_yammer_app(
    *, scenario: Scenario, authority: DevAuthority, clock: Callable[[], float] | None = None
) -> Flask:
    """Build the Yammer emulator as its own WSGI app; the state is ``app.extensions["yammer_emulator"]``."""
    app = Flask(__name__)
    emulator = YammerEmulator(scenario, authority, clock or time.time)
    app.extensions["yammer_emulator"] = emulator

    @app.errorhandler(YammerError)
    def yammer_error(exc: YammerError) -> Response:
        response = jsonify(fail_body(exc.message, exc.code))
        response.status_code = exc.status
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = jsonify(fail_body(exc.description or exc.name, exc.code or 500))
        response.status_code = exc.code or 500
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.after_request
    def log_request(response: Response) -> Response:
        if request.path.startswith("/api/"):
            caller = g.get("yammer_caller")
            emulator.requests.append(
                RequestRecord(
                    emulator.clock(), request.method, request.path, response.status_code, caller.oid if caller else None
                )
            )
        response.headers["Cache-Control"] = "no-cache, no-store"
        return response

    register_dev_routes(app, emulator)

    @app.get("/api/v1/messages/in_group/<int:group_id>.json")
    def in_group(group_id: int) -> Response:
        caller = _admit(emulator)
        community = scenario.communities.get(group_id)
        if community is None:
            raise YammerError(404, "Group not found.")
        threaded = request.args.get("threaded", "").lower()
        if threaded not in ("", "true", "false", "extended"):
            raise YammerError(400, "threaded must be true or extended.")
        page = emulator.index.page(
            group_id,
            starters_only=threaded in ("true", "extended"),
            older_than=_int_arg("older_than"),
            newer_than=_int_arg("newer_than"),
            limit=_limit_arg(),
        )
        ctx = emulator.render_context(_api_base())
        messages = scenario.community_messages
        shown = [messages[i] for i in page.ids]
        extended: dict[str, list[CommunityMessage]] = {}
        if threaded == "extended":
            for starter in shown:
                reply_ids = [i for i in emulator.index.thread(starter.id) if i != starter.id][-EXTENDED_REPLIES:]
                extended[str(starter.id)] = [messages[i] for i in reply_ids]
        everything = shown + [reply for replies in extended.values() for reply in replies]
        return jsonify(
            {
                "messages": [message_json(m, community, ctx) for m in shown],
                "threaded_extended": {
                    thread: [message_json(m, community, ctx) for m in replies] for thread, replies in extended.items()
                },
                "references": references(everything, scenario.communities, messages, ctx),
                "meta": _meta(caller, community, older_available=page.older_available),
            }
        )

    @app.get("/api/v1/messages/<int:message_id>.json")
    def one_message(message_id: int) -> Response:
        _admit(emulator)
        message = scenario.community_messages.get(message_id)
        community = scenario.communities.get(message.community_id) if message else None
        if message is None or community is None:
            raise YammerError(404, "Message not found.")
        return jsonify(message_json(message, community, emulator.render_context(_api_base())))

    @app.post("/api/v1/messages.json")
    def create_message() -> tuple[Response, int]:
        caller = _admit(emulator)
        fields = _fields()
        if fields.get("direct_to_user_ids"):
            raise YammerError(400, "Direct messages are not supported by this network.")
        body = str(fields.get("body") or "").strip()
        if not body:
            raise YammerError(400, "Please include a message body.")
        replied_to = _int_field(fields, "replied_to_id")
        group_id = _int_field(fields, "group_id")
        if replied_to is not None:
            parent = scenario.community_messages.get(replied_to)
            if parent is None:
                raise YammerError(404, "Message not found.")
            if group_id is not None and group_id != parent.community_id:
                raise YammerError(400, "group_id does not match the group of replied_to_id.")
            group_id = parent.community_id
        if group_id is None:
            raise YammerError(400, "Please include a group_id or replied_to_id.")
        community = scenario.communities.get(group_id)
        if community is None:
            raise YammerError(404, "Group not found.")
        at = datetime.fromtimestamp(emulator.clock(), UTC)
        message = scenario.post_in_community(group_id, caller.oid, body, at=at, replied_to=replied_to)
        emulator.record_post(message)
        ctx = emulator.render_context(_api_base())
        envelope = {
            "messages": [message_json(message, community, ctx)],
            "threaded_extended": {},
            "references": references([message], scenario.communities, scenario.community_messages, ctx),
            "meta": _meta(caller, community, older_available=False),
        }
        return jsonify(envelope), 201

    return app


def _admit(emulator: YammerEmulator) -> Caller:
    """Authenticate, apply injected faults, then count the request against the caller's rate limit."""
    caller = emulator.authenticate(request.headers.get("Authorization"))
    g.yammer_caller = caller
    delay, fault = emulator.faults.take(request.path)
    if delay:
        emulator.sleep(delay)
    if fault is not None:
        message = RATE_LIMITED if fault.status == 429 else _UNAVAILABLE.get(fault.status, "Service unavailable.")
        raise YammerError(fault.status, message, retry_after=fault.retry_after)
    retry_after = emulator.limiter.acquire((caller.oid, caller.app_id))
    if retry_after is not None:
        raise YammerError(429, RATE_LIMITED, retry_after=retry_after)
    return caller


def _meta(caller: Caller, community: ScenarioCommunity, *, older_available: bool) -> dict[str, Any]:
    return {
        "older_available": older_available,
        "requested_poll_interval": POLL_INTERVAL,
        "current_user_id": yammer_user_id(caller.person),
        "feed_name": community.name,
        "feed_desc": f"Messages in {community.name}",
        "followed_user_ids": [],
        "ymodules": [],
    }


def _api_base() -> str:
    return request.root_url.rstrip("/") + "/api/v1"


def _fields() -> Mapping[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise YammerError(400, "The request body is not a JSON object.")
        return data
    return request.form


def _int_arg(name: str) -> int | None:
    return _to_int(request.args.get(name), name)


def _int_field(fields: Mapping[str, Any], name: str) -> int | None:
    return _to_int(fields.get(name), name)


def _to_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise YammerError(400, f"{name} must be a message or group id.") from None
    if number < 0:
        raise YammerError(400, f"{name} must be a message or group id.")
    return number


def _limit_arg() -> int:
    limit = _to_int(request.args.get("limit"), "limit")
    return PAGE_LIMIT if limit is None else max(1, min(limit, PAGE_LIMIT))
