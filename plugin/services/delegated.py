"""Delegated tokens for background work: a participant's Yammer token, silently, from their cached MSAL account.

Yammer only accepts delegated tokens, so polling acts as a participant. A background job has no Teams SSO token
to exchange, so the only source is the refresh token in the person's encrypted MSAL cache (left there by the
tab's on-behalf-of exchange or the consent pop-up, see :mod:`plugin.services.tokens`): ``acquire_token_silent``
serves a cached Yammer token or redeems that refresh token for one. Nothing here is ever interactive.

The outcome is kept on the person's :class:`~plugin.models.SyncState` row (kind ``yammer_user``, key = the
person id): ``ok``; ``needs_sign_in`` when no token can be had (never signed in, consent withdrawn, refresh token
expired, Conditional Access wants them back) or Yammer refused the token; ``no_access`` when Yammer says they
are not in the network. A person marked ``needs_sign_in`` is not asked again until their cache changes (they
signed in) or :data:`RETRY_AFTER` has passed. Tokens are never logged, stored outside the cache, or put in a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..adapters.msal_client import YAMMER_USER, MsalClient
from ..models import SyncState, TokenCache
from .tokens import CacheCipher, cipher_for, load_cache, msal_for, save_cache
from .upsert import insert_ignore

log = logging.getLogger(__name__)

YAMMER_USER_STATE = "yammer_user"
OK, NEEDS_SIGN_IN, NO_ACCESS = "ok", "needs_sign_in", "no_access"
#: A person whose token failed is tried again after this long even if they did not sign in (a passing outage).
RETRY_AFTER = timedelta(hours=24)
YAMMER_SCOPES: tuple[str, ...] = (YAMMER_USER,)


@dataclass(frozen=True)
class Reader:
    """A participant whose delegated token may read Viva Engage for the programme."""

    person_id: int
    oid: str


@dataclass
class TokenStatus:
    """A person's stored Yammer token status, with what decides whether to try them again."""

    status: str | None
    checked_at: datetime | None
    cache_updated_at: datetime | None

    def worth_trying(self, now: datetime) -> bool:
        """False when the last try failed and nothing changed since (no new sign-in, not long ago)."""
        if self.cache_updated_at is None:
            return False
        if self.status in (None, OK) or self.checked_at is None:
            return True
        return self.cache_updated_at > self.checked_at or now - self.checked_at >= RETRY_AFTER


@dataclass
class DelegatedTokens:
    """Silent delegated tokens for participants, each acquired at most once per run; commits status changes."""

    session: Session
    msal: MsalClient | None = None
    cipher: CacheCipher | None = None
    scopes: Sequence[str] = YAMMER_SCOPES
    _tokens: dict[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.msal = self.msal or msal_for(current_app)
        self.cipher = self.cipher or cipher_for(current_app)

    def token(self, reader: Reader) -> str | None:
        """The reader's access token, from their cache (refreshed when needed), or None: then skip them."""
        if reader.person_id in self._tokens:
            return self._tokens[reader.person_id]
        assert self.msal is not None and self.cipher is not None
        blob = load_cache(self.session, reader.person_id, self.cipher)
        if blob is None:
            self.record(reader.person_id, NEEDS_SIGN_IN)
            return None
        try:
            acquired, refreshed = self.msal.silent(self.scopes, blob, reader.oid)
        except (httpx.HTTPError, OSError) as exc:
            # The authority could not be reached: not the person's fault, so their status stays as it was.
            log.warning("token refresh for person %s failed: %s", reader.person_id, type(exc).__name__)
            return None
        if refreshed:
            save_cache(self.session, reader.person_id, refreshed, self.cipher)
        if acquired is None:
            log.info("no silent Yammer token for person %s: sign-in needed", reader.person_id)
            self.record(reader.person_id, NEEDS_SIGN_IN)
            return None
        self.record(reader.person_id, OK)
        self._tokens[reader.person_id] = acquired.access_token
        return acquired.access_token

    def forget(self, reader: Reader) -> None:
        """Drop the reader's token for this run, so the next :meth:`token` asks MSAL again."""
        self._tokens.pop(reader.person_id, None)

    def reject(self, reader: Reader, status: str = NEEDS_SIGN_IN) -> None:
        """Yammer refused the reader's token (401) or the reader (403): forget the token, record why."""
        self._tokens.pop(reader.person_id, None)
        self.record(reader.person_id, status)

    def record(self, person_id: int, status: str) -> None:
        """Store the person's token status (and, when it works, that it was used now); commits."""
        now = datetime.now(UTC)
        _ensure_rows(self.session, [person_id])
        values: dict[str, object] = {"status": status, "checked_at": now}
        if status == OK:
            values["synced_at"] = now
        self.session.execute(update(SyncState).where(
            SyncState.kind == YAMMER_USER_STATE, SyncState.key == str(person_id)).values(**values))
        self.session.commit()


def mark_without_cache(session: Session, person_ids: Iterable[int]) -> int:
    """People who never signed in (no token cache) need to: record that once; commits; returns rows changed."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    _ensure_rows(session, ids)
    changed = session.execute(update(SyncState).where(
        SyncState.kind == YAMMER_USER_STATE, SyncState.key.in_([str(i) for i in ids]),
        (SyncState.status.is_(None)) | (SyncState.status != NEEDS_SIGN_IN),
    ).values(status=NEEDS_SIGN_IN, checked_at=datetime.now(UTC))).rowcount
    session.commit()
    return max(changed or 0, 0)


def token_statuses(session: Session, person_ids: Iterable[int]) -> dict[int, TokenStatus]:
    """Each person's stored Yammer token status and when their token cache last changed (None: no cache)."""
    ids = sorted(set(person_ids))
    found = {i: TokenStatus(None, None, None) for i in ids}
    if not ids:
        return found
    for key, status, checked_at in session.execute(select(SyncState.key, SyncState.status, SyncState.checked_at)
                                                   .where(SyncState.kind == YAMMER_USER_STATE,
                                                          SyncState.key.in_([str(i) for i in ids]))):
        found[int(key)].status, found[int(key)].checked_at = status, checked_at
    for person_id, updated_at in session.execute(select(TokenCache.person_id, TokenCache.updated_at)
                                                 .where(TokenCache.person_id.in_(ids))):
        found[person_id].cache_updated_at = updated_at
    return found


def needing_sign_in(session: Session, person_ids: Iterable[int]) -> list[int]:
    """Of these people, those whose delegated Yammer token is missing or refused (show "needs sign-in")."""
    ids = [str(i) for i in sorted(set(person_ids))]
    if not ids:
        return []
    return sorted(int(key) for key in session.scalars(select(SyncState.key).where(
        SyncState.kind == YAMMER_USER_STATE, SyncState.key.in_(ids), SyncState.status == NEEDS_SIGN_IN)))


def _ensure_rows(session: Session, person_ids: Sequence[int]) -> None:
    insert_ignore(session, SyncState, [{"kind": YAMMER_USER_STATE, "key": str(i)} for i in person_ids])


__all__ = [
    "NEEDS_SIGN_IN", "NO_ACCESS", "OK", "RETRY_AFTER", "DelegatedTokens", "Reader", "TokenStatus",
    "mark_without_cache", "needing_sign_in", "token_statuses",
]
