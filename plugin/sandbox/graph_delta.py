"""``GET /teams/{t}/channels/{c}/messages/delta``: rounds of change tracking over a channel's reply chains.

Semantics (Graph docs, chatMessage: delta):

* Root messages only, whose chain started in the last **8 calendar months** (by the root's
  ``createdDateTime``, the emulator's clock); ``$top`` 1..50 (default 20, more answers 400);
  ``$expand=replies``; ``$filter=lastModifiedDateTime gt <ts>`` is the only filter.
* A chain's modification time is the newest ``lastModifiedDateTime`` of the root and its replies, so a new
  reply, a reaction, an edit or a deletion anywhere in the chain returns the whole root again. Deleted roots
  come back with ``deletedDateTime`` set.
* Items come oldest change first. A round is pinned when it starts: its upper bound is the newest change
  then (and the ids changed exactly at that instant), carried in the ``$skiptoken``; the final page's
  ``$deltatoken`` makes that bound the next round's lower bound. Changes made while a client pages are
  returned in the next round. Query parameters only count on the first request, as documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from plugin.sandbox.graph_http import bad_request, epoch_us, parse_datetime
from plugin.sandbox.graph_paging import link, parse_top, wants_replies
from plugin.sandbox.scenario import ChannelMessage

if TYPE_CHECKING:
    from plugin.sandbox.graph_emulator import GraphEmulator

WINDOW_MONTHS = 8
DELTA_CONTEXT = "$metadata#Collection(chatMessage)"


@dataclass(frozen=True)
class Chain:
    """A root message, its replies and the chain's last change (µs since epoch)."""

    root: ChannelMessage
    replies: list[ChannelMessage]
    modified: int

    @property
    def key(self) -> tuple[int, str]:
        """Sort key: (last change, root id)."""
        return self.modified, self.root.id


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock instant ``months`` calendar months earlier (day clamped to the month's end)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def chains(messages: list[ChannelMessage]) -> list[Chain]:
    """Reply chains of a channel's messages (roots with their replies, oldest reply first)."""
    replies: dict[str, list[ChannelMessage]] = {}
    for message in messages:
        if message.reply_to_id:
            replies.setdefault(message.reply_to_id, []).append(message)
    result = []
    for message in messages:
        if message.reply_to_id is None:
            thread = replies.get(message.id, [])
            modified = max([epoch_us(message.last_modified), *(epoch_us(r.last_modified) for r in thread)])
            result.append(Chain(message, thread, modified))
    return result


def delta(emulator: GraphEmulator, team_id: str, channel_id: str, args: Mapping[str, str]) -> dict[str, Any]:
    """One page of a delta round (the response document)."""
    codec = emulator.codec
    scope = [team_id, channel_id]
    if args.get("$skiptoken"):
        state = codec.decode("skip", args["$skiptoken"])
    elif args.get("$deltatoken"):
        state = codec.decode("delta", args["$deltatoken"])
        state["upper"] = None
    else:
        state = _first_request(args)
        state["scope"] = scope
    if state.get("scope") != scope:
        raise bad_request("The state token was issued for another channel.")

    window = epoch_us(months_before(emulator.clock(), WINDOW_MONTHS))
    candidates = [
        c
        for c in chains(emulator.scenario.channel_messages(team_id, channel_id))
        if epoch_us(c.root.created) >= window and _after(c, state.get("since"))
    ]
    if state.get("upper") is None:
        state["upper"] = _bound(candidates) or state.get("since")
    candidates = sorted((c for c in candidates if _not_after(c, state["upper"])), key=lambda c: c.key)
    cursor = state.get("cursor")
    if cursor is not None:
        candidates = [c for c in candidates if c.key > (int(cursor[0]), str(cursor[1]))]

    top, expand = int(state["top"]), bool(state["expand"])
    page, more = candidates[:top], len(candidates) > top
    renderer = emulator.renderer
    document: dict[str, Any] = {"@odata.context": f"{emulator.base_url}/v1.0/{DELTA_CONTEXT}"}
    path = f"/teams/{team_id}/channels/{channel_id}/messages/delta"
    if more:
        state["cursor"] = list(page[-1].key)
        document["@odata.nextLink"] = link(emulator.base_url, path, skiptoken=codec.encode("skip", state))
    else:
        carried = {"scope": scope, "top": top, "expand": expand, "since": state["upper"]}
        document["@odata.deltaLink"] = link(emulator.base_url, path, deltatoken=codec.encode("delta", carried))
    document["value"] = [renderer.render(c.root, replies=c.replies if expand else None, odata_type=True) for c in page]
    return document


def _first_request(args: Mapping[str, str]) -> dict[str, Any]:
    since = None
    if args.get("$filter"):
        since = [epoch_us(_parse_filter(args["$filter"])), []]
    return {
        "top": parse_top(args.get("$top")),
        "expand": wants_replies(args.get("$expand")),
        "since": since,
        "upper": None,
    }


def _parse_filter(expression: str) -> datetime:
    parts = expression.split()
    if len(parts) != 3 or parts[0] != "lastModifiedDateTime" or parts[1].lower() != "gt":
        raise bad_request(
            "Invalid filter clause: only 'lastModifiedDateTime gt <timestamp>' is supported on delta.",
            "BadRequest",
        )
    try:
        return parse_datetime(parts[2].strip("'"))
    except ValueError as exc:
        raise bad_request(f"Invalid filter clause: '{parts[2]}' is not a timestamp.") from exc


def _bound(candidates: list[Chain]) -> list[Any] | None:
    """[newest change µs, ids changed at exactly that µs] — the round's upper bound."""
    if not candidates:
        return None
    newest = max(c.modified for c in candidates)
    return [newest, sorted(c.root.id for c in candidates if c.modified == newest)]


def _after(chain: Chain, since: list[Any] | None) -> bool:
    if since is None:
        return True
    moment, ties = int(since[0]), set(since[1])
    return chain.modified > moment or (chain.modified == moment and chain.root.id not in ties)


def _not_after(chain: Chain, upper: list[Any] | None) -> bool:
    if upper is None:
        return False
    moment, ties = int(upper[0]), set(upper[1])
    return chain.modified < moment or (chain.modified == moment and chain.root.id in ties)
