"""Open Badges 2.0: the issuer profile, badge classes and hosted assertions of the awards people made public.

Every award can become a portable badge (https://w3id.org/openbadges/v2, hosted verification): the assertion
lives at ``<APP_BASE_URL>/ob/assertions/<public id>``, its ``id`` is that very URL, so a verifier dereferences it
on the issuer's own origin. The recipient is the person's e-mail address, salted and hashed
(``sha256$hex(sha256(email + salt))``); the salt is derived from the app's secret and the award's public id, so
it is stable without being stored and nobody can test guesses of addresses against other awards.

Only awards the participant made public (``Award.public``, off by default) are served; any other id is "not
found". A revoked public award answers "gone" with the revocation reason, as the specification asks.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from PIL import Image, PngImagePlugin
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.badges import BADGES
from ..domain.badges import Badge as BadgeDefinition
from ..domain.messages import N_
from ..models import Award, Badge, Cohort, Organisation, Person
from .refusal import Refused

CONTEXT = "https://w3id.org/openbadges/v2"
IMAGES = Path(__file__).resolve().parents[1] / "static" / "img" / "badges"
LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"
DEFAULT_ISSUER = "Ambassador"
#: Revoked without a reason given (automatic revocations carry their own).
NO_REASON = N_("This badge was revoked.")


class NotPublic(Refused):
    """No public award with this id: unknown, private, or its holder was erased."""

    def __init__(self) -> None:
        super().__init__("not_found", "not_found", N_("There is no public badge with this id."))


class Revoked(Exception):
    """The award was public but has been revoked; `body` is the 410 answer."""

    def __init__(self, body: dict[str, Any], award: PublicAward) -> None:
        super().__init__(body.get("revocationReason", ""))
        self.body, self.award = body, award


@dataclass(frozen=True)
class PublicAward:
    """A public award with what its assertion and verification page need."""

    award: Award
    badge: BadgeDefinition
    email: str
    holder: str | None
    cohort: str
    issuer_name: str


# -- URLs -------------------------------------------------------------------------------------------------------


def issuer_url(base: str) -> str:
    """The issuer profile's id."""
    return f"{base}/ob/issuer"


def badge_url(base: str, slug: str) -> str:
    """A badge class's id."""
    return f"{base}/ob/badges/{slug}"


def badge_image_url(base: str, slug: str) -> str:
    """The PNG of a badge class."""
    return f"{base}/ob/badges/{slug}/image.png"


def assertion_url(base: str, public_id: str) -> str:
    """An assertion's id (hosted verification fetches exactly this)."""
    return f"{base}/ob/assertions/{public_id}"


def verify_url(base: str, public_id: str) -> str:
    """The public verification page of an award."""
    return f"{base}/verify/{public_id}"


# -- documents --------------------------------------------------------------------------------------------------


def issuer_name(session: Session) -> str:
    """The organisation's name, which issues the badges."""
    return session.scalar(select(Organisation.name).order_by(Organisation.id).limit(1)) or DEFAULT_ISSUER


def issuer_profile(session: Session, base: str, *, description: str) -> dict[str, Any]:
    """The Issuer Profile (id, type, name, url are required by Open Badges 2.0)."""
    return {"@context": CONTEXT, "type": "Issuer", "id": issuer_url(base), "name": issuer_name(session),
            "url": f"{base}/", "description": description}


def badge_definition(slug: str) -> BadgeDefinition:
    """The badge with this slug; NotPublic for an unknown one."""
    badge = BADGES.get(slug)
    if badge is None:
        raise NotPublic()
    return badge


def badge_class(slug: str, base: str, *, locale: str) -> dict[str, Any]:
    """The BadgeClass (name, description, image, criteria, issuer are required by Open Badges 2.0)."""
    badge = badge_definition(slug)
    return {"@context": CONTEXT, "type": "BadgeClass", "id": badge_url(base, slug), "name": badge.name.get(locale),
            "description": badge.description.get(locale), "image": badge_image_url(base, slug),
            "criteria": {"narrative": badge.criteria.get(locale)}, "issuer": issuer_url(base),
            "tags": ["employee advocacy", "knowledge sharing"]}


def badge_image(slug: str) -> bytes:
    """The badge's PNG (drawn by scripts/draw_badges.py)."""
    badge_definition(slug)
    return (IMAGES / f"{slug}.png").read_bytes()


def salt_for(secret: str, public_id: str) -> str:
    """The recipient hash's salt of an award: stable, secret-derived, different for every award."""
    return hmac.new(secret.encode(), f"openbadges-salt:{public_id}".encode(), hashlib.sha256).hexdigest()[:32]


def hashed_identity(email: str, salt: str) -> str:
    """Open Badges' hashed identity: `sha256$` and the hex digest of the address followed by the salt."""
    return "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()


def public_award(session: Session, public_id: str) -> PublicAward:
    """The award if its holder made it public (revoked or not); NotPublic otherwise."""
    row = session.execute(
        select(Award, Badge.slug, Person, Cohort.name).join(Badge, Badge.id == Award.badge_id)
        .join(Person, Person.id == Award.person_id).join(Cohort, Cohort.id == Award.cohort_id)
        .where(Award.public_id == public_id)
    ).first()
    if row is None:
        raise NotPublic()
    award, slug, person, cohort = row
    email = (person.email or person.upn or "").strip().lower()
    if not award.public or person.erased_at is not None or not email or slug not in BADGES:
        raise NotPublic()
    return PublicAward(award, BADGES[slug], email, person.display_name, cohort, issuer_name(session))


def assertion(session: Session, public_id: str, base: str, *, secret: str) -> dict[str, Any]:
    """The hosted Assertion of a public award; Revoked (with the 410 body) when it was revoked."""
    found = public_award(session, public_id)
    award = found.award
    url = assertion_url(base, award.public_id)
    if award.revoked_at is not None:
        raise Revoked({"@context": CONTEXT, "type": "Assertion", "id": url, "revoked": True,
                       "revocationReason": award.revoke_reason or NO_REASON}, found)
    salt = salt_for(secret, award.public_id)
    return {
        "@context": CONTEXT, "type": "Assertion", "id": url,
        "recipient": {"type": "email", "hashed": True, "salt": salt, "identity": hashed_identity(found.email, salt)},
        "badge": badge_url(base, found.badge.slug),
        "verification": {"type": "hosted"},
        "issuedOn": _iso(award.awarded_at),
        "image": f"{url}/image.png",
    }


def baked_image(assertion_json: dict[str, Any], slug: str) -> bytes:
    """The badge PNG with the assertion baked in (an iTXt chunk `openbadges`, as Open Badges baking asks)."""
    with Image.open(io.BytesIO(badge_image(slug))) as image:
        info = PngImagePlugin.PngInfo()
        info.add_itxt("openbadges", json.dumps(assertion_json, separators=(",", ":")))
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def linkedin_url(*, name: str, organisation: str, issued: datetime, cert_url: str, cert_id: str) -> str:
    """LinkedIn's Add-to-Profile link that pre-fills "Licenses & certifications" with this badge."""
    query = {"startTask": "CERTIFICATION_NAME", "name": name, "organizationName": organisation,
             "issueYear": issued.year, "issueMonth": issued.month, "certUrl": cert_url, "certId": cert_id}
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(query)}"


def verification(session: Session, public_id: str, base: str, *, locale: str) -> dict[str, Any]:
    """What the public verification page shows of a public award (revoked ones too, marked as such)."""
    found = public_award(session, public_id)
    award, badge = found.award, found.badge
    page = verify_url(base, award.public_id)
    return {
        "id": award.public_id, "slug": badge.slug, "name": badge.name.get(locale),
        "description": badge.description.get(locale), "criteria": badge.criteria.get(locale),
        "image": badge_image_url(base, badge.slug), "holder": found.holder, "cohort": found.cohort,
        "issuer": found.issuer_name, "issued_on": award.awarded_at, "revoked_at": award.revoked_at,
        "revocation_reason": award.revoke_reason, "assertion_url": assertion_url(base, award.public_id),
        "verify_url": page,
        "linkedin_url": linkedin_url(name=badge.name.get(locale), organisation=found.issuer_name,
                                     issued=award.awarded_at, cert_url=page, cert_id=award.public_id),
    }


# -- the participant's choice -----------------------------------------------------------------------------------


def my_awards(session: Session, person_id: int, base: str, *, locale: str) -> list[dict[str, Any]]:
    """The caller's awards with their public/private choice and, for public ones, where they can be verified."""
    rows = session.execute(
        select(Award, Badge.slug, Cohort.name).join(Badge, Badge.id == Award.badge_id)
        .join(Cohort, Cohort.id == Award.cohort_id).where(Award.person_id == person_id)
        .order_by(Award.awarded_at, Award.id)
    ).all()
    result = []
    for award, slug, cohort in rows:
        badge = BADGES.get(slug)
        shared = award.public and award.revoked_at is None
        result.append({
            "id": award.public_id, "slug": slug, "name": badge.name.get(locale) if badge else slug,
            "cohort": cohort, "awarded_at": _iso(award.awarded_at), "public": award.public,
            "revoked": award.revoked_at is not None,
            "assertion_url": assertion_url(base, award.public_id) if shared else None,
            "verify_url": verify_url(base, award.public_id) if shared else None,
        })
    return result


def set_visibility(session: Session, person_id: int, public_id: str, public: object) -> Award:
    """Make one of the person's own awards public or private; commits. Refused for bad input or others' awards."""
    if not isinstance(public, bool):
        raise Refused("invalid", "invalid_public", N_("Send {\"public\": true} or {\"public\": false}."),
                      field="public")
    award = session.scalar(select(Award).where(Award.public_id == public_id))
    if award is None or award.person_id != person_id:
        # Someone else's award is "not found" too: the answer must not confirm that an id exists.
        raise Refused("not_found", "not_found", N_("You have no badge with this id."))
    if public and award.revoked_at is not None:
        raise Refused("conflict", "revoked", N_("This badge was revoked, so it cannot be made public."))
    if award.public != public:
        award.public = public
        session.commit()
    return award


# -- auditing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardLine:
    """One issued award for `flask badges list`."""

    public_id: str
    slug: str
    holder: str
    cohort: str
    awarded_at: datetime
    state: str  # "public", "private" or "revoked"
    assertion_url: str
    verify_url: str


def list_awards(session: Session, base: str, *, public_only: bool = False) -> list[AwardLine]:
    """Every award (or only the public, unrevoked ones) with its assertion URL and verification page."""
    query = (select(Award, Badge.slug, Person, Cohort.name).join(Badge, Badge.id == Award.badge_id)
             .join(Person, Person.id == Award.person_id).join(Cohort, Cohort.id == Award.cohort_id)
             .order_by(Award.awarded_at, Award.id))
    if public_only:
        query = query.where(Award.public.is_(True), Award.revoked_at.is_(None), Person.erased_at.is_(None))
    lines = []
    for award, slug, person, cohort in session.execute(query):
        state = "revoked" if award.revoked_at is not None else ("public" if award.public else "private")
        holder = person.email or person.upn or person.display_name or person.entra_oid
        lines.append(AwardLine(award.public_id, slug, holder, cohort, award.awarded_at, state,
                               assertion_url(base, award.public_id), verify_url(base, award.public_id)))
    return lines


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
