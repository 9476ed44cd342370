"""The data inventory (register of processing): every table and column, what personal data it holds and why.

Per table of the models: which columns hold personal data and of what kind, the purpose, the legal basis, how
long it is kept and what an erasure does; every other column is listed as holding none.
:func:`render_inventory` writes it as Markdown in English or Dutch for ``docs/PRIVACY*.md`` (``flask privacy
inventory``), and :func:`unclassified_columns` lists columns the inventory does not know yet, so a test fails
when a model changes and the inventory does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import MetaData

from ..domain.messages import Text

#: Kinds of personal data, as the inventory names them.
KINDS: dict[str, Text] = {
    "identifier": Text("name, e-mail or account id", "naam, e-mailadres of account-id"),
    "link": Text("a person's internal number", "intern nummer van een persoon"),
    "behaviour": Text("what someone did and when", "wat iemand deed en wanneer"),
    "answers": Text("own answers, figures and choices", "eigen antwoorden, cijfers en keuzes"),
    "text": Text("free text people wrote", "vrije tekst die mensen schreven"),
    "derived": Text("derived by Ambassador: progress, points, scores",
                    "afgeleid door Ambassador: voortgang, punten, scores"),
    "secret": Text("encrypted sign-in tokens", "versleutelde aanmeldtokens"),
}

#: Legal bases (GDPR art. 6(1)); the organisation's privacy officer confirms them in the DPIA.
BASES: dict[str, Text] = {
    "interest": Text("legitimate interest (art. 6(1)(f)); taking part is voluntary (opt-in)",
                     "gerechtvaardigd belang (art. 6 lid 1 sub f); meedoen is vrijwillig (opt-in)"),
    "reach": Text("legitimate interest (art. 6(1)(f)): measuring reach needs colleagues' replies and reactions "
                  "(account id and counts only)",
                  "gerechtvaardigd belang (art. 6 lid 1 sub f): bereik meten vraagt reacties van collega's "
                  "(alleen account-id en aantallen)"),
    "accountability": Text("legitimate interest in security and accountability (art. 6(1)(f), art. 5(2) and 32)",
                           "gerechtvaardigd belang bij beveiliging en verantwoording (art. 6 lid 1 sub f, art. 5 "
                           "lid 2 en 32)"),
    "service": Text("legitimate interest (art. 6(1)(f)): needed to do what the person asked",
                    "gerechtvaardigd belang (art. 6 lid 1 sub f): nodig om te doen wat de persoon vroeg"),
}

_UNTIL_ERASED = Text("until the person is erased", "tot de persoon gewist wordt")
_ANONYMOUS = Text("kept without the person (counts for the reports)", "blijft zonder de persoon (telt mee in de "
                  "rapportages)")


@dataclass(frozen=True)
class TableEntry:
    """What one table holds about people and what happens to it."""

    purpose: Text
    basis: str
    kept: Text
    on_erase: Text
    personal: dict[str, str] = field(default_factory=dict)  # column -> kind
    other: tuple[str, ...] = ()  # columns without personal data


#: Tables that hold no personal data at all (organisation set-up, programme content, Graph plumbing).
NOT_PERSONAL: dict[str, tuple[str, ...]] = {
    "badge": ("id", "slug", "manual", "created_at"),
    "channel": ("id", "team_id", "graph_id", "display_name"),
    "cohort_community": ("id", "cohort_id", "community_id"),
    "cohort_team": ("id", "cohort_id", "team_id"),
    "community": ("id", "yammer_group_id", "network_id", "display_name"),
    "graph_subscription": ("id", "subscription_id", "resource", "change_type", "include_resource_data",
                           "expires_at", "status", "created_at", "renewed_at"),
    "mission": ("id", "cohort_id", "slug", "week", "type", "params", "points", "optional"),
    "organisation": ("id", "tenant_id", "name", "default_locale", "timezone", "min_group_size",
                     "activity_retention_days", "created_at"),
    "team": ("id", "graph_id", "display_name", "locale", "created_at"),
}

INVENTORY: dict[str, TableEntry] = {
    "person": TableEntry(
        Text("Know who signs in (Teams SSO), show their name and language",
             "Weten wie zich aanmeldt (Teams SSO), naam en taal tonen"),
        "service", _UNTIL_ERASED,
        Text("name, e-mail, UPN and language cleared; account id replaced by a random value; an empty "
             "placeholder row stays",
             "naam, e-mail, UPN en taal leeg; account-id vervangen door een willekeurige waarde; een lege "
             "plaatshouder blijft"),
        {"entra_oid": "identifier", "display_name": "identifier", "upn": "identifier", "email": "identifier",
         "preferred_locale": "answers"},
        ("id", "created_at", "updated_at", "erased_at")),
    "role_assignment": TableEntry(
        Text("Roles given in the app (coach, admin, lead)", "Rollen die in de app gegeven zijn (coach, beheerder, "
             "teamleider)"),
        "accountability", Text("until revoked or erased", "tot ingetrokken of gewist"),
        Text("deleted", "verwijderd"),
        {"person_id": "link", "granted_by_id": "link"}, ("id", "role", "team_id", "created_at")),
    "token_cache": TableEntry(
        Text("Read Teams and Viva Engage on the person's behalf (on-behalf-of), encrypted at rest",
             "Teams en Viva Engage namens de persoon lezen (on-behalf-of), versleuteld opgeslagen"),
        "service", Text("until replaced at the next sign-in, or erased", "tot de volgende aanmelding of wissen"),
        Text("deleted", "verwijderd"),
        {"person_id": "link", "ciphertext": "secret"}, ("updated_at",)),
    "team_membership": TableEntry(
        Text("Who owns a team in Teams (team leads), read from Graph", "Wie eigenaar is van een team in Teams "
             "(teamleiders), gelezen uit Graph"),
        "service", Text("refreshed hourly; gone when the person leaves the team", "elk uur ververst; weg als de "
                        "persoon het team verlaat"),
        Text("deleted", "verwijderd"),
        {"person_id": "link", "is_owner": "answers"}, ("id", "team_id", "refreshed_at")),
    "enrolment": TableEntry(
        Text("Opt-in participation: consent, intake answers (choose mission variants), settings, network figures",
             "Deelname op eigen keuze: toestemming, intake (kiest missievarianten), instellingen, netwerkcijfers"),
        "interest", _UNTIL_ERASED,
        Text("intake answers and notification and ranking choices cleared; the row stays for the team counts",
             "intake-antwoorden en keuzes voor meldingen en ranglijst leeg; de rij blijft voor de teamtellingen"),
        {"person_id": "link", "status": "answers", "enrolled_at": "behaviour", "consented_at": "answers",
         "consent_version": "answers", "intake": "answers", "intake_completed_at": "behaviour",
         "baseline_connections": "answers", "baseline_followers": "answers", "final_connections": "answers",
         "final_followers": "answers", "ranking_visibility": "answers", "muted_notifications": "answers"},
        ("id", "cohort_id", "team_id")),
    "mission_progress": TableEntry(
        Text("Progress on the programme's missions", "Voortgang op de missies van het programma"),
        "interest", _UNTIL_ERASED, _ANONYMOUS,
        {"enrolment_id": "link", "current": "derived", "target": "derived", "completed_at": "derived",
         "updated_at": "derived"}, ("id", "mission_id")),
    "evidence": TableEntry(
        Text("Proof for self-reported missions (e.g. a LinkedIn link), reviewed by a coach or lead",
             "Bewijs voor zelf gemelde missies (bijv. een LinkedIn-link), beoordeeld door coach of teamleider"),
        "interest", _UNTIL_ERASED,
        Text("link, note and review note cleared; the status stays for the counts",
             "link, toelichting en beoordeling leeg; de status blijft voor de tellingen"),
        {"enrolment_id": "link", "url": "text", "note": "text", "figures": "answers", "status": "derived",
         "submitted_at": "behaviour", "reviewer_id": "link", "review_note": "text", "reviewed_at": "behaviour"},
        ("id", "mission_id")),
    "check_in": TableEntry(
        Text("A coach's notes of a check-in with a participant", "Aantekeningen van een coach bij een gesprek met "
             "een deelnemer"),
        "interest", _UNTIL_ERASED, Text("note cleared", "aantekening leeg"),
        {"enrolment_id": "link", "coach_id": "link", "note": "text", "created_at": "behaviour"},
        ("id", "mission_id")),
    "risk_assessment": TableEntry(
        Text("Warn the coach when a participant fades after the start (48-hour effect)",
             "De coach waarschuwen als een deelnemer na de start afhaakt (48-uurseffect)"),
        "interest", Text("recomputed every hour while the cohort runs", "elk uur opnieuw berekend zolang de groep "
                         "loopt"),
        Text("deleted", "verwijderd"),
        {"enrolment_id": "link", "score": "derived", "reasons": "derived", "computed_at": "derived"}),
    "activity": TableEntry(
        Text("Count posts, replies and reactions in Teams and Viva Engage; features only, never the text",
             "Berichten, antwoorden en reacties in Teams en Viva Engage tellen; alleen kenmerken, nooit de tekst"),
        "reach",
        Text("ACTIVITY_RETENTION_DAYS (default 730) after it happened, longer only while a running cohort needs it",
             "ACTIVITY_RETENTION_DAYS (standaard 730) dagen na het moment zelf, langer alleen zolang een lopende "
             "groep het nodig heeft"),
        Text("author's account id replaced by the placeholder's; counts stay",
             "account-id van de auteur vervangen door die van de plaatshouder; tellingen blijven"),
        {"external_id": "link", "author_oid": "identifier", "author_id": "link", "target_author_id": "link",
         "occurred_at": "behaviour", "edited_at": "behaviour", "deleted_at": "behaviour",
         "knowledge_sharing": "derived", "broadcast": "derived", "own_words": "derived", "language": "derived",
         "links": "derived", "files": "derived", "mentions": "derived", "is_question": "derived",
         "topics": "derived", "content_hash": "derived", "reaction_type": "behaviour"},
        ("id", "source", "kind", "team_id", "channel_id", "community_id", "thread_external_id", "ingested_at")),
    "points_entry": TableEntry(
        Text("The points ledger (only shown to others when the person opts in to a ranking)",
             "Het puntenoverzicht (alleen zichtbaar voor anderen als de persoon kiest voor een ranglijst)"),
        "interest", _UNTIL_ERASED, _ANONYMOUS,
        {"person_id": "link", "amount": "derived", "source_key": "derived", "reason": "derived",
         "created_at": "derived"}, ("id", "cohort_id")),
    "award": TableEntry(
        Text("Badges earned, as Open Badges the person may make public", "Behaalde badges, als Open Badges die de "
             "persoon openbaar mag maken"),
        "interest", _UNTIL_ERASED,
        Text("made private, reasons cleared; counts stay", "niet meer openbaar, redenen leeg; tellingen blijven"),
        {"person_id": "link", "awarded_at": "derived", "awarded_by_id": "link", "reason": "text",
         "public": "answers", "revoked_at": "derived", "revoked_by_id": "link", "revoke_reason": "text"},
        ("id", "public_id", "badge_id", "cohort_id")),
    "recognition": TableEntry(
        Text("A lead's recognition of a colleague, with a message", "Waardering van een teamleider voor een "
             "collega, met een bericht"),
        "interest", _UNTIL_ERASED,
        Text("message cleared (given and received)", "bericht leeg (gegeven en ontvangen)"),
        {"from_person_id": "link", "to_person_id": "link", "message": "text", "created_at": "behaviour",
         "channel_message_id": "link"},
        ("id", "cohort_id", "kind", "award_id", "post_to_channel")),
    "nomination": TableEntry(
        Text("A participant's proposal of an ambassador, for a lead to decide", "Voordracht van een ambassadeur "
             "door een deelnemer, waarover een teamleider beslist"),
        "interest", _UNTIL_ERASED, Text("reason cleared (made and received)", "reden leeg (gedaan en ontvangen)"),
        {"nominator_id": "link", "nominee_id": "link", "reason": "text", "decided_by_id": "link",
         "decided_at": "behaviour", "created_at": "behaviour"},
        ("id", "cohort_id", "status")),
    "notification_log": TableEntry(
        Text("Send each Teams notification once", "Elke Teams-melding één keer versturen"),
        "service",
        Text("ACTIVITY_RETENTION_DAYS (default 730) after it was logged, at least 30 days; longer while a cohort is "
             "still running", "ACTIVITY_RETENTION_DAYS (standaard 730) dagen na het loggen, minstens 30 dagen; "
             "langer zolang een groep nog loopt"),
        Text("deleted", "verwijderd"),
        {"person_id": "link", "idempotency_key": "link", "locale": "answers", "parameters": "link",
         "created_at": "behaviour", "sent_at": "behaviour"},
        ("id", "activity_type", "status", "attempts", "error")),
    "audit_entry": TableEntry(
        Text("Who did what as admin, coach or lead (and erasures), for admins to check",
             "Wie wat deed als beheerder, coach of teamleider (en wissingen), zodat beheerders het kunnen nagaan"),
        "accountability", Text("without end date (no message text or tokens in it)", "zonder einddatum (zonder "
                               "berichttekst of tokens)"),
        Text("free-text reasons about the person removed; entries stay under the placeholder",
             "vrije-tekstredenen over de persoon verwijderd; regels blijven onder de plaatshouder"),
        {"actor_id": "link", "target_id": "link", "details": "link", "created_at": "behaviour"},
        ("id", "action", "target_type")),
    "inbox_item": TableEntry(
        Text("Graph change notifications, stored before they are processed so none is lost",
             "Wijzigingsmeldingen van Graph, bewaard tot ze verwerkt zijn zodat er geen verloren gaat"),
        "reach",
        Text("message content removed when processed (MESSAGE_TEXT_RETENTION_DAYS, default 0), from unprocessed "
             "ones after a day; processed items deleted after 2 days",
             "berichtinhoud weg bij verwerking (MESSAGE_TEXT_RETENTION_DAYS, standaard 0), bij onverwerkte na een "
             "dag; verwerkte meldingen na 2 dagen verwijderd"),
        Text("content of the person's unprocessed notifications removed", "inhoud van onverwerkte meldingen van "
             "de persoon verwijderd"),
        {"resource": "link", "payload": "text", "received_at": "behaviour"},
        ("id", "source", "identity", "subscription_id", "change_type", "status", "attempts", "locked_until",
         "error", "processed_at")),
    "sync_state": TableEntry(
        Text("Where each feed was last read; per person: whether their Viva Engage sign-in still works",
             "Waar elke bron het laatst gelezen is; per persoon: of hun Viva Engage-aanmelding nog werkt"),
        "service", _UNTIL_ERASED, Text("the person's row deleted", "de rij van de persoon verwijderd"),
        {"key": "link", "status": "derived", "checked_at": "behaviour"},
        ("id", "kind", "delta_link", "newest_id", "backfilled_from", "synced_at")),
    "share_request": TableEntry(
        Text("Post a share from the composer once, also when the request is repeated (a double click, a retry)",
             "Een bericht uit de deelknop één keer plaatsen, ook als het verzoek herhaald wordt (dubbelklik, "
             "nieuwe poging)"),
        "service", Text("1 day", "1 dag"), Text("deleted", "verwijderd"),
        {"person_id": "link", "answer": "link", "created_at": "behaviour"},
        ("id", "idempotency_key", "fingerprint", "status")),
    "success_story": TableEntry(
        Text("Outcomes a participant logged (a client conversation, a post picked up), shown only if they allow it",
             "Resultaten die een deelnemer vastlegde (een klantgesprek, een bericht dat opgepikt werd), alleen "
             "zichtbaar als die persoon dat toestaat"),
        "interest", _UNTIL_ERASED, Text("deleted", "verwijderd"),
        {"person_id": "link", "type": "answers", "text": "text", "link": "text", "shareable": "answers",
         "featured_by_id": "link", "created_at": "behaviour"},
        ("id", "cohort_id", "featured")),
    "library_item": TableEntry(
        Text("Shareable content for the knowledge feed and the composer; who added it",
             "Deelbare inhoud voor de kennisfeed en het deelvenster; wie het toevoegde"),
        "accountability", Text("until a coach removes it", "tot een coach het verwijdert"),
        Text("stays (points at the placeholder)", "blijft (wijst naar de plaatshouder)"),
        {"created_by_id": "link"},
        ("id", "url", "title", "summary", "topics", "channels", "expires_at", "feed_id", "guid", "created_at")),
    "feed": TableEntry(
        Text("RSS/Atom sources the library imports from; who added them",
             "RSS/Atom-bronnen waaruit de bibliotheek importeert; wie ze toevoegde"),
        "accountability", Text("until a coach removes it", "tot een coach het verwijdert"),
        Text("stays (points at the placeholder)", "blijft (wijst naar de plaatshouder)"),
        {"created_by_id": "link"},
        ("id", "url", "topic", "etag", "last_modified", "last_fetched_at", "error", "created_at")),
    "cohort": TableEntry(
        Text("A run of the programme; who created it", "Een ronde van het programma; wie die aanmaakte"),
        "accountability", Text("as long as the cohort exists", "zolang de groep bestaat"),
        Text("stays (points at the placeholder)", "blijft (wijst naar de plaatshouder)"),
        {"created_by_id": "link"},
        ("id", "name", "start_date", "weeks", "timezone", "grace_days", "programme_id", "programme_version",
         "baseline_weeks", "programme_place", "created_at", "frozen_at")),
}

_HEADINGS = {
    "en": ("Table", "Personal data (kind)", "Purpose", "Legal basis", "Kept", "On erase",
           "Tables without personal data"),
    "nl": ("Tabel", "Persoonsgegevens (soort)", "Doel", "Grondslag", "Bewaard", "Bij wissen",
           "Tabellen zonder persoonsgegevens"),
}


def unclassified_columns(metadata: MetaData) -> list[str]:
    """`table.column` names the models have and the inventory does not (or the other way round)."""
    problems = []
    known: dict[str, set[str]] = {name: set(cols) for name, cols in NOT_PERSONAL.items()}
    for name, entry in INVENTORY.items():
        known[name] = set(entry.personal) | set(entry.other)
    for table in metadata.tables.values():
        columns = {c.name for c in table.columns}
        listed = known.pop(table.name, set())
        problems += [f"{table.name}.{c}" for c in sorted(columns - listed)]
        problems += [f"{table.name}.{c} (no such column)" for c in sorted(listed - columns)]
    problems += [f"{name} (no such table)" for name in sorted(known)]
    return problems


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _columns(entry: TableEntry, lang: str) -> str:
    by_kind: dict[str, list[str]] = {}
    for column, kind in entry.personal.items():
        by_kind.setdefault(kind, []).append(f"`{column}`")
    return "; ".join(f"{', '.join(cols)} ({getattr(KINDS[kind], lang)})" for kind, cols in by_kind.items())


def render_inventory(lang: str, tables: Iterable[str] | None = None) -> str:
    """The inventory as a Markdown table in `lang` ("en" or "nl"), then the tables without personal data."""
    if lang not in _HEADINGS:
        raise ValueError(f"no inventory in {lang!r}")
    names = list(tables) if tables is not None else list(INVENTORY)
    heads = _HEADINGS[lang]
    lines = ["| " + " | ".join(heads[:6]) + " |", "|" + "---|" * 6]
    for name in names:
        entry = INVENTORY[name]
        cells = (f"`{name}`", _columns(entry, lang), getattr(entry.purpose, lang), getattr(BASES[entry.basis], lang),
                 getattr(entry.kept, lang), getattr(entry.on_erase, lang))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", f"{heads[6]}: " + ", ".join(f"`{name}`" for name in sorted(NOT_PERSONAL)) + "."]
    return "\n".join(lines) + "\n"
