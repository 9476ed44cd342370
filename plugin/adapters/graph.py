"""Microsoft Graph for Ambassador, on msgraph-core 1.x: channel message delta, $batch, team directory, subscriptions.

How the pieces fit (see ``reference/microsoft-365.md`` §6):

* **Transport and retries.** :class:`GraphClient` builds an ``httpx.AsyncClient`` (base ``GRAPH_BASE_URL/v1.0``)
  and hands it to ``GraphClientFactory.create_with_default_middleware``, whose ``RetryHandler`` retries 429, 503
  and 504 on every method, waiting ``Retry-After`` when the answer has one (exponential backoff otherwise).
* **The retry gotcha.** msgraph-core's ``AsyncGraphTransport`` runs that middleware pipeline *only* for requests
  that carry ``request.extensions["kiota_request_options"]``; a plain ``client.get()`` skips it, retries
  included. Every request here goes through :meth:`GraphClient._send`, which always sets the option
  (``RetryHandlerOption(delay=retry_delay, max_retries=max_retries)``), so the handler really applies.
* **Async under a sync API.** msgraph-core is async only (there is no sync pipeline), while Flask views, CLI
  commands and Huey jobs are synchronous. Each client owns one asyncio loop in a daemon thread; the public
  methods are synchronous and run one coroutine per HTTP exchange there. Keeping one loop for the client's
  lifetime keeps the connection pool (keep-alive) valid, which ``asyncio.run`` per call would not; the thread
  is a daemon so a client someone forgot to close never blocks interpreter exit (it is also closed when
  garbage-collected). Token providers run in the caller's thread, so they may use the Flask app context.
* **The sandbox in-process.** When ``GRAPH_BASE_URL`` is the emulator mounted in this very app
  (``<APP_BASE_URL>/dev/graph``), requests go through :class:`AsyncWSGITransport` into the app instead of a
  socket (httpx's own ``WSGITransport`` is sync only), as :func:`plugin.identity.authority_client` does.
* **$batch.** ``BatchRequestContent``/``BatchRequestItem`` hold each group (msgraph-core enforces at most 20);
  the JSON body is written here because msgraph-core's serializer needs ``kiota-serialization-json``, which the
  project does not ship. Items answered 429/503/504 are sent again in a later batch after their own
  ``Retry-After`` (msgraph-core retries whole HTTP requests, never batch items).

Results are small dataclasses; chat messages stay the Graph JSON (``dict``) because ingestion reads them as is.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import RetryHandlerOption
from msgraph_core import GraphClientFactory
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

if TYPE_CHECKING:
    from flask import Flask

TokenProvider = Callable[[], str]
ChatMessage = dict[str, Any]

API_VERSION = "v1.0"
RETRYABLE = frozenset({429, 503, 504})
MAX_TOP = 50  # delta's documented maximum page size
BATCH_LIMIT = BatchRequestContent.MAX_REQUESTS
MAX_RECIPIENTS = 100  # sendActivityNotificationToRecipients' limit
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_OPTIONS_KEY = "kiota_request_options"  # what AsyncGraphTransport looks for before it runs the middleware
T = TypeVar("T")


class GraphError(Exception):
    """A Graph answer that is not a success (after msgraph-core's retries), with Graph's error code."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"Graph answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """True for throttling and outages: trying again later can succeed."""
        return self.status in RETRYABLE

    @classmethod
    def from_response(cls, response: httpx.Response) -> GraphError:
        """The error of a Graph response (its ``{"error": {"code", "message"}}`` body when there is one)."""
        return cls.from_parts(response.status_code, dict(response.headers), _json_or_none(response))

    @classmethod
    def from_parts(cls, status: int, headers: Mapping[str, str], body: Any) -> GraphError:
        """The error of a status, headers and body (also for one item of a $batch answer)."""
        error = body.get("error") if isinstance(body, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else ""
        return cls(status, code or "UnknownError", message or "no error message", retry_after=retry_after(headers))


@dataclass(frozen=True)
class DeltaPage:
    """One page of a channel's message delta: root messages (replies expanded inside) and where to go on."""

    messages: list[ChatMessage]
    next_link: str | None
    delta_link: str | None

    @property
    def resume_link(self) -> str:
        """The link to store once this page is processed: the next page's, or the next round's."""
        return cast(str, self.next_link or self.delta_link)


@dataclass(frozen=True)
class TeamMember:
    """A member of a team; owners are the team's leads."""

    user_id: str
    display_name: str | None
    email: str | None
    is_owner: bool


@dataclass(frozen=True)
class ChannelInfo:
    """A channel of a team."""

    id: str
    display_name: str
    membership_type: str | None


@dataclass(frozen=True)
class Subscription:
    """A change-notification subscription as Graph returned it."""

    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    include_resource_data: bool

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Subscription:
        """From Graph's subscription JSON."""
        return cls(
            id=str(document["id"]),
            resource=str(document.get("resource", "")),
            change_type=str(document.get("changeType", "")),
            notification_url=str(document.get("notificationUrl", "")),
            lifecycle_url=document.get("lifecycleNotificationUrl"),
            expiration=parse_graph_datetime(str(document["expirationDateTime"])),
            client_state=document.get("clientState"),
            include_resource_data=bool(document.get("includeResourceData")),
        )


# -- transports ---------------------------------------------------------------------------------------------------
class AsyncWSGITransport(httpx.AsyncBaseTransport):
    """An async transport into a WSGI app in the same process (httpx only ships a sync WSGI transport)."""

    def __init__(self, app: Any) -> None:
        self._wsgi = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the request through the WSGI app; the body is read whole, as the app produces it whole."""
        await request.aread()
        response = self._wsgi.handle_request(request)
        try:
            content = b"".join(cast(Iterator[bytes], response.stream))
        finally:
            response.close()
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the HTTP attempts that reach the wire (retries included: it sits below the middleware)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.count = 0
        self._lock = threading.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then pass on."""
        with self._lock:
            self.count += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


class EventLoopThread:
    """An asyncio loop running in a daemon thread, for synchronous callers to run coroutines on."""

    def __init__(self, name: str = "graph-client") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """False once stopped."""
        return not self.loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        """Stop the loop, join the thread and close the loop (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _shutdown(loop: EventLoopThread, http: httpx.AsyncClient) -> None:
    """Close a client's HTTP connections and its loop (also run when a forgotten client is collected)."""
    if not loop.running:
        return
    try:
        loop.run(http.aclose())
    finally:
        loop.stop()


# -- the client -----------------------------------------------------------------------------------------------------
class GraphClient:
    """Synchronous Graph client over msgraph-core's middleware (one event loop per client; close it when done)."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 5,
        retry_delay: float = 1.0,
        timeout: httpx.Timeout | float = HTTP_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_url = f"{self.base_url}/{API_VERSION}"
        self.token_provider = token_provider
        self.max_retries = max_retries
        #: Added to msgraph-core's backoff when an answer has no Retry-After (RetryHandlerOption.delay).
        self.retry_option = RetryHandlerOption(delay=retry_delay, max_retries=max_retries)
        self.retry_delay = retry_delay
        self._sleep = sleep
        self._counter = CountingTransport(transport or httpx.AsyncHTTPTransport())
        # An explicit transport (the in-process sandbox) must not be bypassed by proxy mounts from the environment.
        raw = httpx.AsyncClient(base_url=self.api_url, transport=self._counter, timeout=timeout,
                                trust_env=transport is None)
        self._http = GraphClientFactory.create_with_default_middleware(client=raw)
        self._loop = EventLoopThread()
        self._closer = weakref.finalize(self, _shutdown, self._loop, self._http)

    @classmethod
    def from_app(cls, app: Flask, token_provider: TokenProvider | None = None, **options: Any) -> GraphClient:
        """The client for this app's GRAPH_BASE_URL (in-process for the mounted sandbox; app-only MSAL token)."""
        base = app.config["GRAPH_BASE_URL"]
        if base.startswith(f"{app.config['APP_BASE_URL']}/dev/"):
            options.setdefault("transport", AsyncWSGITransport(app))
        return cls(base, token_provider or app_token_provider(app), **options)

    # -- lifecycle --
    def close(self) -> None:
        """Close the HTTP client and stop the client's event loop thread (idempotent)."""
        self._closer()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, every retry counted."""
        return self._counter.count

    # -- channel messages --
    def channel_messages_delta(
        self,
        team_id: str,
        channel_id: str,
        delta_link: str | None = None,
        *,
        top: int = MAX_TOP,
        since: datetime | None = None,
    ) -> Iterator[DeltaPage]:
        """Delta pages up to the round's deltaLink, from a stored next/delta link or else a new walk."""
        # A new walk sends the only query Graph takes: $top, $expand=replies and the lastModifiedDateTime filter.
        if delta_link:
            url, params = delta_link, None
        else:
            url = f"/teams/{team_id}/channels/{channel_id}/messages/delta"
            params = {"$top": str(min(max(top, 1), MAX_TOP)), "$expand": "replies"}
            if since is not None:
                params["$filter"] = f"lastModifiedDateTime gt {graph_datetime(since)}"
        while True:
            document = self._json("GET", url, params=params)
            messages = [self._complete_replies(m) for m in document.get("value", [])]
            next_link, new_delta = document.get("@odata.nextLink"), document.get("@odata.deltaLink")
            if not next_link and not new_delta:
                raise GraphError(502, "NoLink", "a delta page carried neither a nextLink nor a deltaLink")
            yield DeltaPage(messages, next_link, new_delta)
            if not next_link:
                return
            url, params = next_link, None

    def get_message(self, team_id: str, channel_id: str, message_id: str, reply_id: str | None = None, *,
                    expand_replies: bool = False) -> ChatMessage:
        """One root message (optionally with its replies) or one reply; GraphError 404 when it is gone."""
        path = f"/teams/{team_id}/channels/{channel_id}/messages/{message_id}"
        if reply_id:
            return self._json("GET", f"{path}/replies/{reply_id}")
        if expand_replies:
            return self._complete_replies(self._json("GET", path, params={"$expand": "replies"}))
        return self._json("GET", path)

    def find_message(self, team_id: str, channel_id: str, message_id: str,
                     reply_id: str | None = None) -> ChatMessage | None:
        """Like :meth:`get_message`, but None when Graph answers 404 (the inbox's ``fetch_message`` contract)."""
        try:
            return self.get_message(team_id, channel_id, message_id, reply_id)
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise

    def post_channel_message(self, team_id: str, channel_id: str, message: Mapping[str, Any]) -> ChatMessage:
        """POST /teams/{id}/channels/{id}/messages (a new root post, e.g. an Adaptive Card); the created message."""
        return self._json("POST", f"/teams/{team_id}/channels/{channel_id}/messages", json=dict(message))

    def get_messages_batch(self, resources: Sequence[str]) -> dict[str, dict[str, Any]]:
        """GET resources (relative paths) by ``$batch``, ≤ 20 a request; resource → body, 403/404 left out."""
        # Items answered 429/503/504 go into a later batch after the longest of their own Retry-After values.
        pending = list(dict.fromkeys(resources))
        results: dict[str, dict[str, Any]] = {}
        for attempt in range(self.max_retries + 1):
            retry: list[str] = []
            waits: list[float] = []
            for start in range(0, len(pending), BATCH_LIMIT):
                group = pending[start : start + BATCH_LIMIT]
                for resource, status, headers, body in self._batch(group):
                    if 200 <= status < 300:
                        results[resource] = body if isinstance(body, dict) else {}
                    elif status in RETRYABLE:
                        retry.append(resource)
                        waits.append(retry_after(headers) or self._backoff(attempt))
                    elif status not in (403, 404):
                        raise GraphError.from_parts(status, headers, body)
            if not retry:
                return results
            if attempt == self.max_retries:
                raise GraphError(429, "TooManyRequests", f"{len(retry)} batch items still throttled",
                                 retry_after=max(waits))
            self._sleep(max(waits))
            pending = retry
        return results

    # -- teams --
    def team_members(self, team_id: str) -> list[TeamMember]:
        """Every member of a team; ``is_owner`` marks the owners."""
        return [
            TeamMember(
                user_id=str(item.get("userId") or ""),
                display_name=item.get("displayName"),
                email=item.get("email"),
                is_owner="owner" in (item.get("roles") or ()),
            )
            for item in self._collect(f"/teams/{team_id}/members")
            if item.get("userId")
        ]

    def team_owners(self, team_id: str) -> list[TeamMember]:
        """The owners (leads) of a team."""
        return [member for member in self.team_members(team_id) if member.is_owner]

    def channels(self, team_id: str) -> list[ChannelInfo]:
        """The channels of a team."""
        return [
            ChannelInfo(str(item["id"]), str(item.get("displayName") or ""), item.get("membershipType"))
            for item in self._collect(f"/teams/{team_id}/channels")
        ]

    # -- subscriptions --
    def create_subscription(
        self,
        resource: str,
        *,
        notification_url: str,
        expiration: datetime,
        change_type: str = "created,updated,deleted",
        lifecycle_url: str | None = None,
        client_state: str | None = None,
        include_resource_data: bool = False,
        encryption_certificate: str | None = None,
        encryption_certificate_id: str | None = None,
    ) -> Subscription:
        """POST /subscriptions (Graph runs the validation handshake against the URLs before it answers 201)."""
        body: dict[str, Any] = {
            "changeType": change_type,
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": graph_datetime(expiration),
        }
        if lifecycle_url:
            body["lifecycleNotificationUrl"] = lifecycle_url
        if client_state is not None:
            body["clientState"] = client_state
        if include_resource_data:
            body["includeResourceData"] = True
            body["encryptionCertificate"] = encryption_certificate
            body["encryptionCertificateId"] = encryption_certificate_id
        return Subscription.from_json(self._json("POST", "/subscriptions", json=body))

    def renew_subscription(self, subscription_id: str, expiration: datetime) -> Subscription:
        """PATCH /subscriptions/{id} with a new expirationDateTime."""
        document = self._json(
            "PATCH", f"/subscriptions/{subscription_id}", json={"expirationDateTime": graph_datetime(expiration)}
        )
        return Subscription.from_json(document)

    def delete_subscription(self, subscription_id: str) -> None:
        """DELETE /subscriptions/{id}."""
        self._call("DELETE", f"/subscriptions/{subscription_id}")

    def reauthorize_subscription(self, subscription_id: str) -> None:
        """POST /subscriptions/{id}/reauthorize (the answer to a reauthorizationRequired lifecycle event)."""
        self._call("POST", f"/subscriptions/{subscription_id}/reauthorize")

    # -- activity feed --
    def send_activity_notification(self, user_id: str, payload: Mapping[str, Any]) -> None:
        """POST /users/{id}/teamwork/sendActivityNotification (204)."""
        self._call("POST", f"/users/{user_id}/teamwork/sendActivityNotification", json=dict(payload))

    def send_activity_notification_to_recipients(self, user_ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """POST /teamwork/sendActivityNotificationToRecipients: one notification to 1..100 users (202)."""
        if not 1 <= len(user_ids) <= MAX_RECIPIENTS:
            raise ValueError(f"a bulk activity notification goes to 1 to {MAX_RECIPIENTS} users, not {len(user_ids)}")
        recipients = [{"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": user_id}
                      for user_id in user_ids]
        self._call("POST", "/teamwork/sendActivityNotificationToRecipients", json={**payload, "recipients": recipients})

    # -- plumbing --
    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, url, **kwargs)
        document = _json_or_none(response)
        if not isinstance(document, dict):
            raise GraphError(502, "BadResponse", f"{method} {url} did not answer a JSON object")
        return document

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request through the middleware (retries included); GraphError unless it succeeded."""
        if not self._loop.running:
            raise RuntimeError("the Graph client is closed")
        token = self.token_provider()  # in the caller's thread: providers may need the Flask app context
        response = self._loop.run(self._send(method, url, token, kwargs))
        if not response.is_success:
            raise GraphError.from_response(response)
        return response

    async def _send(self, method: str, url: str, token: str, kwargs: dict[str, Any]) -> httpx.Response:
        request = self._http.build_request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        # Without this extension msgraph-core skips its whole middleware pipeline, retries included (§6).
        request.extensions[_OPTIONS_KEY] = {RetryHandlerOption.get_key(): self.retry_option}
        response = await self._http.send(request)
        await response.aread()
        return response

    def _collect(self, url: str) -> list[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            document = self._json("GET", next_url)
            items += document.get("value", [])
            next_url = document.get("@odata.nextLink")
        return items

    def _complete_replies(self, message: ChatMessage) -> ChatMessage:
        """A root with more than 1,000 replies carries ``replies@odata.nextLink``: fetch the rest (rare)."""
        link = message.pop("replies@odata.nextLink", None)
        if link:
            message["replies"] = [*(message.get("replies") or []), *self._collect(link)]
        return message

    def _batch(self, resources: Sequence[str]) -> list[tuple[str, int, dict[str, str], Any]]:
        """One $batch request: (resource, status, headers, body) per item."""
        content = BatchRequestContent()
        for index, resource in enumerate(resources):
            info = RequestInformation(Method.GET)
            info.url = resource if resource.startswith("/") else f"/{resource}"
            content.add_request(str(index), BatchRequestItem(info, id=str(index)))
        body = {
            "requests": [
                {"id": item.id, "method": item.method, "url": item.url} for item in content.requests.values()
            ]
        }
        document = self._json("POST", "/$batch", json=body)
        answers = []
        for response in document.get("responses", []):
            index = int(response["id"])
            headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
            answers.append((resources[index], int(response["status"]), headers, response.get("body")))
        return answers

    def _backoff(self, attempt: int) -> float:
        return self.retry_delay + 0.5 * 2**attempt + random.random() / 2  # noqa: S311 - jitter, not security


# -- helpers --------------------------------------------------------------------------------------------------------
def app_token_provider(app: Flask) -> TokenProvider:
    """App-only Graph tokens by MSAL client credentials (MSAL caches them until shortly before they expire)."""
    from .msal_client import GRAPH_DEFAULT, Acquired, MsalClient, describe

    client = app.extensions.get("msal") or MsalClient.from_app(app)

    def token() -> str:
        outcome = client.app_token([GRAPH_DEFAULT])
        if not isinstance(outcome, Acquired):
            raise GraphError(401, "NoAppToken", f"no app-only Graph token: {describe(outcome)}")
        return outcome.access_token

    return token


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (seconds form); None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def graph_datetime(moment: datetime) -> str:
    """A UTC timestamp as Graph takes it (ISO 8601 with ``Z``)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_graph_datetime(value: str) -> datetime:
    """A Graph timestamp (``Z`` or offset, up to 7 fractional digits) as an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, tail = text.partition(".")
    if dot:
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{(digits + '000000')[:6]}{tail[len(digits):]}"
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def flatten(root: Mapping[str, Any]) -> Iterator[ChatMessage]:
    """A root message and then its replies (as delta returns them with ``$expand=replies``)."""
    yield {key: value for key, value in root.items() if key != "replies"}
    yield from root.get("replies") or ()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = [
    "AsyncWSGITransport", "ChannelInfo", "ChatMessage", "DeltaPage", "GraphClient", "GraphError", "Subscription",
    "TeamMember", "TokenProvider", "app_token_provider", "flatten", "graph_datetime", "parse_graph_datetime",
]
