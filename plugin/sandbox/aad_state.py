"""Mutable tenant state of the dev authority: per-user consent grants and MFA-challenged users.

Kept in memory, or in ``<key_dir>/state.json`` when a key directory is given so that every process serving the
authority (and the process that seeds the demo) sees the same grants.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from plugin.sandbox.keys import file_lock, write_private

State = dict[str, Any]


class DevState:
    """Per-user delegated consent (client → user → resource → scopes) and MFA-challenged users."""

    def __init__(self, key_dir: Path | None = None) -> None:
        self._path = Path(key_dir) / "state.json" if key_dir is not None else None
        self._lock = threading.Lock()
        self._data: State = {"consents": {}, "mfa": []}
        self._stamp: tuple[int, int] | None = None

    def user_consents(self, client_id: str, oid: str, resource: str) -> frozenset[str]:
        """Scopes this user consented to for ``client_id`` on ``resource``."""
        data = self._read()
        return frozenset(data["consents"].get(client_id, {}).get(oid, {}).get(resource, ()))

    def grant(self, client_id: str, oid: str, resource: str, scopes: Iterable[str]) -> None:
        """Record that the user consented to ``scopes`` (adds to earlier grants)."""
        wanted = set(scopes)

        def change(data: State) -> None:
            per_resource = data["consents"].setdefault(client_id, {}).setdefault(oid, {})
            per_resource[resource] = sorted(set(per_resource.get(resource, ())) | wanted)

        self._update(change)

    def revoke(self, client_id: str, oid: str, resource: str | None = None) -> None:
        """Withdraw the user's consent for one resource, or for all of them."""

        def change(data: State) -> None:
            per_user = data["consents"].get(client_id, {})
            if resource is None:
                per_user.pop(oid, None)
            else:
                per_user.get(oid, {}).pop(resource, None)

        self._update(change)

    def requires_mfa(self, oid: str) -> bool:
        """Whether Conditional Access demands MFA from this user for downstream resources."""
        return oid in self._read()["mfa"]

    def set_mfa(self, oid: str, required: bool) -> None:
        """Turn the MFA Conditional Access challenge on or off for a user."""

        def change(data: State) -> None:
            users = set(data["mfa"]) - {oid}
            data["mfa"] = sorted(users | {oid} if required else users)

        self._update(change)

    def _read(self) -> State:
        with self._lock:
            if self._path is not None:
                self._load()
            return self._data

    def _update(self, change: Callable[[State], None]) -> None:
        with self._lock:
            if self._path is None:
                change(self._data)
                return
            with file_lock(self._path.with_name(".state.lock")):
                self._stamp = None
                self._load()
                change(self._data)
                write_private(self._path, json.dumps(self._data, sort_keys=True).encode())

    def _load(self) -> None:
        assert self._path is not None
        try:
            stat = self._path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns)  # every write is a new inode (atomic replace)
        except FileNotFoundError:
            return
        if stamp != self._stamp:
            self._data = json.loads(self._path.read_text())
            self._stamp = stamp
