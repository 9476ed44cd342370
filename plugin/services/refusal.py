"""Why a participant's or reviewer's request was refused: a kind, a stable code and a msgid for people."""

from __future__ import annotations

from typing import Any

#: What kind of refusal it is; the web layer maps each to an HTTP status (400, 403, 404, 409).
KINDS = ("invalid", "forbidden", "not_found", "conflict")


class Refused(Exception):
    """A request the service will not carry out; nothing was changed.

    `code` is stable for programs (e.g. "invalid_url"), `msgid` is an N_-marked English text with named
    placeholders filled from `params` after translation, and `field` names the offending input, if any.
    """

    def __init__(self, kind: str, code: str, msgid: str, *, field: str | None = None, **params: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown refusal kind {kind!r}")
        super().__init__(msgid % params if params else msgid)
        self.kind, self.code, self.msgid, self.field, self.params = kind, code, msgid, field, params
