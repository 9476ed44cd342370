"""The demo organisation: a Dutch advisory firm with four teams (names are made up)."""

from __future__ import annotations

ORGANISATION = "Noorderlicht Adviesgroep"

#: (Teams group id suffix, team name, team language, channels)
TEAMS = (
    ("fin", "Financieel Advies", "nl", ("Algemeen", "Kennisdeling", "Klantcases")),
    ("data", "IT & Data", "en", ("General", "Cloud & AI", "Show and tell")),
    ("hr", "HR & Organisatie", "nl", ("Algemeen", "Lean & verandering")),
    ("green", "Duurzaamheid", "nl", ("Algemeen", "Circulair", "Events")),
)

#: (display name, team key, language, role) — role: lead, coach, admin or employee.
PEOPLE = (
    ("Sanne de Vries", "fin", "nl", "lead"),
    ("Daan Jansen", "fin", "nl", "employee"),
    ("Fleur Bakker", "fin", "nl", "employee"),
    ("Thijs Visser", "fin", "nl", "employee"),
    ("Lotte Smit", "fin", "nl", "employee"),
    ("Bram Meijer", "fin", "nl", "employee"),
    ("Eva de Boer", "fin", "nl", "employee"),
    ("Ruben Mulder", "fin", "nl", "employee"),
    ("Anouk de Groot", "fin", "nl", "employee"),
    ("Jeroen Bos", "fin", "nl", "employee"),
    ("Priya Raman", "data", "en", "lead"),
    ("Tom Hendriks", "data", "nl", "employee"),
    ("Lisa van Leeuwen", "data", "nl", "employee"),
    ("Mark Dekker", "data", "nl", "employee"),
    ("Sophie Brouwer", "data", "en", "employee"),
    ("Kevin de Wit", "data", "nl", "employee"),
    ("Olga Nowak", "data", "en", "employee"),
    ("Niels Dijkstra", "data", "nl", "employee"),
    ("Iris Smits", "data", "nl", "employee"),
    ("James O'Connor", "data", "en", "employee"),
    ("Marieke van Dam", "hr", "nl", "lead"),
    ("Joost de Graaf", "hr", "nl", "employee"),
    ("Femke Kuipers", "hr", "nl", "employee"),
    ("Sander Vermeulen", "hr", "nl", "employee"),
    ("Noor El Amrani", "hr", "nl", "employee"),
    ("Wouter van den Berg", "hr", "nl", "employee"),
    ("Yvonne Peters", "hr", "nl", "employee"),
    ("Hanna Schmidt", "hr", "en", "employee"),
    ("Koen Willems", "hr", "nl", "employee"),
    ("Esther Koster", "hr", "nl", "coach"),
    ("Jasper van Dijk", "green", "nl", "lead"),
    ("Roos Hoekstra", "green", "nl", "employee"),
    ("Stijn Prins", "green", "nl", "employee"),
    ("Maartje Huisman", "green", "nl", "employee"),
    ("Luuk van der Linden", "green", "nl", "employee"),
    ("Aylin Yilmaz", "green", "nl", "employee"),
    ("Pieter Sluiter", "green", "nl", "employee"),
    ("Chloé Martin", "green", "en", "employee"),
    ("Gerrit Post", "green", "nl", "admin"),
    ("Vera Dekkers", "green", "nl", "employee"),
)

#: Viva Engage communities linked to the cohort: (Yammer group id, name).
COMMUNITIES = (("31158067201", "Kennisnetwerk Noorderlicht"), ("31158067202", "Duurzaam Ondernemen"))

TOPICS = ("lean", "cloud", "ai", "circulair", "finance", "hr", "data", "duurzaamheid", "esg")

#: How engaged each demo participant is, so the demo shows the full range (index into PEOPLE % len).
ENGAGEMENT = ("champion", "steady", "steady", "faded", "starter", "steady", "quiet", "faded")
