"""Opaque ``$skiptoken``/``$deltatoken`` values and newest-first paging of the Graph emulator's collections.

Tokens are stateless: compressed JSON, base64url, with an HMAC tag under a per-emulator secret, so clients can
only replay what the emulator gave them (a tampered or foreign token answers 400). Lists page newest first
by ``createdDateTime`` (as Graph's list samples do); the cursor is the last item's (created, id), so posts that
arrive while a client pages do not shift later pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from plugin.sandbox.graph_http import bad_request, epoch_us
from plugin.sandbox.scenario import ChannelMessage

DEFAULT_PAGE = 20
MAX_PAGE = 50


class TokenCodec:
    """Seals small JSON payloads into opaque, tamper-evident URL-safe tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, kind: str, payload: Mapping[str, Any]) -> str:
        """An opaque token of ``kind`` carrying ``payload``."""
        raw = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 9)
        tag = hmac.new(self._secret, kind.encode() + b"|" + raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(tag + raw).rstrip(b"=").decode("ascii")

    def decode(self, kind: str, token: str) -> dict[str, Any]:
        """The payload of a token this codec made for ``kind``; 400 otherwise."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            tag, raw = blob[:12], blob[12:]
            expected = hmac.new(self._secret, kind.encode() + b"|" + raw, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(tag, expected):
                raise ValueError("bad tag")
            payload = json.loads(zlib.decompress(raw))
        except (ValueError, zlib.error) as exc:
            raise bad_request(f"The {'$deltatoken' if kind == 'delta' else '$skiptoken'} is not valid.") from exc
        if not isinstance(payload, dict):
            raise bad_request("The $skiptoken is not valid.")
        return payload


def parse_top(value: str | None, default: int = DEFAULT_PAGE, maximum: int = MAX_PAGE) -> int:
    """``$top`` as an int in 1..maximum; 400 when out of range or not a number."""
    if value is None or value == "":
        return default
    try:
        top = int(value)
    except ValueError as exc:
        raise bad_request(f"Invalid value '{value}' for $top query parameter.") from exc
    if top < 1 or top > maximum:
        raise bad_request(f"The $top query parameter must be between 1 and {maximum}; '{value}' is not allowed.")
    return top


def wants_replies(value: str | None) -> bool:
    """Whether ``$expand`` asks for replies; any other expansion answers 400 as Graph does."""
    if not value:
        return False
    names = {part.strip() for part in value.split(",") if part.strip()}
    if names - {"replies"}:
        raise bad_request(f"Expanding '{','.join(sorted(names - {'replies'}))}' is not supported.")
    return "replies" in names


def newest_first_key(message: ChannelMessage) -> tuple[int, str]:
    """Sort key (created µs, id) — pages go from the largest key down."""
    return epoch_us(message.created), message.id


def page_newest_first(
    items: Sequence[ChannelMessage], top: int, cursor: Sequence[Any] | None
) -> tuple[list[ChannelMessage], tuple[int, str] | None]:
    """One page of ``items`` newest first after ``cursor``; returns (page, cursor for the next page or None)."""
    ordered = sorted(items, key=newest_first_key, reverse=True)
    if cursor is not None:
        bound = (int(cursor[0]), str(cursor[1]))
        ordered = [m for m in ordered if newest_first_key(m) < bound]
    page = ordered[:top]
    more = len(ordered) > top
    return page, (newest_first_key(page[-1]) if more and page else None)


def link(base: str, path: str, **params: str) -> str:
    """An absolute Graph link: ``{base}/v1.0{path}?$name=value`` (values percent-encoded)."""
    query = "&".join(f"${name}={quote(value, safe='')}" for name, value in params.items())
    return f"{base}/v1.0{path}" + (f"?{query}" if query else "")
