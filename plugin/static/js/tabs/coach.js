/*
 * The coach pages: a group's week in figures, the evidence queue, who needs attention, check-in notes,
 * nominations and recognitions, the group's set-up and the programme files. Everything comes from
 * GET /api/coach (one request) plus the evidence queue; every change is a small JSON request.
 */
import {
  $, TabProblem, api, fillList, formatDate, formatNumber, fromTemplate, lang, run, say, showFieldProblem, t,
  tn, whileBusy,
} from "./common.js";

const DAY = {day: "numeric", month: "long", year: "numeric"};
const MOMENT = {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"};
const HIGH_RISK = 0.8;

let page = null; // the last GET /api/coach answer
let cohortId = null; // the group on screen
let unique = 0;

// ---- small helpers ----
function nextId(prefix) {
  unique += 1;
  return `${prefix}-${unique}`;
}

function option(value, label, selected) {
  const element = document.createElement("option");
  element.value = String(value);
  element.textContent = label;
  element.selected = Boolean(selected);
  return element;
}

function listItem(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

/** Run a coach form's request (buttons off, "Saving…", the API's complaint on failure). */
function busy(form, status, work) {
  return whileBusy(form, status, {pending: "saving"}, work);
}

function shortDate(value) {
  return formatDate(value, DAY);
}

// ---- header and picker ----
function renderPicker() {
  $("picker").hidden = false;
  const select = $("cohort-select");
  select.replaceChildren(...page.cohorts.map((c) => option(c.id, t("cohort_option", {name: c.name, week: c.week}),
    c.id === cohortId)));
  select.disabled = page.cohorts.length === 0;
}

function cohortLine(cohort) {
  const summary = cohort.summary;
  let when = t("week_of", {week: summary.week, weeks: summary.weeks});
  if (summary.week < 1) when = t("not_started", {date: shortDate(cohort.start_date)});
  else if (summary.week > summary.weeks) when = t("finished");
  return `${cohort.name} · ${when}`;
}

// ---- this week ----
function renderSummary(cohort) {
  const s = cohort.summary;
  const running = s.week >= 1 && s.week <= s.weeks;
  $("summary-title").textContent = running ? t("week_of", {week: s.week, weeks: s.weeks})
    : t(s.week < 1 ? "not_started" : "finished", {date: shortDate(cohort.start_date)});
  $("summary-dates").textContent = s.starts_at
    ? t("week_dates", {start: formatDate(s.starts_at, {day: "numeric", month: "long"}),
      end: formatDate(new Date(new Date(s.ends_at).getTime() - 1), {day: "numeric", month: "long"})}) : "";
  const figures = {"sum-participants": s.participants, "sum-active": s.active_this_week, "sum-posts": s.posts_this_week,
    "sum-knowledge": s.knowledge_posts_this_week, "sum-missions": s.missions_completed_this_week,
    "sum-evidence": s.evidence_pending, "sum-risk": s.at_risk, "sum-ambassadors": s.ambassadors,
    "sum-checkins": s.checkins_this_week};
  Object.entries(figures).forEach(([id, value]) => { $(id).textContent = formatNumber(value); });
  $("sum-invited").hidden = s.invited === 0;
  $("sum-invited").textContent = tn("invited_note", s.invited);
  const link = $("report-link");
  link.hidden = !page.report_url;
  $("report-coming").hidden = Boolean(page.report_url);
  if (page.report_url) {
    const url = new URL(page.report_url, window.location.origin);
    url.searchParams.set("cohort", String(cohort.id));
    const here = new URLSearchParams(window.location.search);
    ["locale", "theme"].forEach((key) => { if (here.get(key)) url.searchParams.set(key, here.get(key)); });
    link.href = url.pathname + url.search;
    link.textContent = t("report_open");
  }
}

// ---- evidence ----
function evidenceItem(item) {
  const node = fromTemplate("evidence-template");
  node.dataset.id = String(item.id);
  const who = item.person && item.person.name ? item.person.name : "—";
  node.querySelector(".item-title").textContent = who;
  node.querySelector(".item-meta").textContent = [item.team && item.team.name, t("submitted", {
    date: formatDate(item.submitted_at, MOMENT)})].filter(Boolean).join(" · ");
  node.querySelector(".evidence-mission").textContent = item.mission ? item.mission.title : "";
  const link = node.querySelector(".evidence-link a");
  if (item.url) {
    link.href = item.url;
    link.textContent = item.url;
    link.setAttribute("aria-label", `${t("open_link")}: ${item.url}`);
  } else {
    node.querySelector(".evidence-link").hidden = true;
  }
  const note = node.querySelector(".evidence-note");
  note.textContent = item.note || "";
  note.hidden = !item.note;
  const figures = node.querySelector(".evidence-figures");
  Object.entries(item.figures || {}).forEach(([name, value]) => {
    const row = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = t(`figure_${name}`) === `figure_${name}` ? name : t(`figure_${name}`);
    const dd = document.createElement("dd");
    dd.textContent = formatNumber(value);
    row.append(dt, dd);
    figures.append(row);
  });
  figures.hidden = figures.children.length === 0;

  const form = node.querySelector(".review-form");
  const textarea = form.querySelector(".review-note");
  textarea.id = nextId("review-note");
  const label = form.querySelector(".review-label");
  label.htmlFor = textarea.id;
  label.textContent = t("message_label", {name: who});
  const approve = form.querySelector(".approve");
  const reject = form.querySelector(".reject");
  approve.textContent = t("approve");
  reject.textContent = t("reject");
  const status = form.querySelector(".review-status");
  const review = (decision) => busy(form, status, async () => {
    const note = textarea.value.trim();
    if (decision === "reject" && !note) {
      say(status, t("reject_needs_note"), "error");
      textarea.setAttribute("aria-invalid", "true");
      textarea.focus();
      return;
    }
    await api(`/api/evidence/${item.id}/review`, {method: "POST", body: {decision: decision, note: note || null}});
    say(status, t(decision === "approve" ? "approved" : "rejected", {name: who}), "done");
    node.dataset.reviewed = decision;
    form.querySelectorAll("button").forEach((b) => { b.hidden = true; });
    textarea.disabled = true;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    review("approve");
  });
  reject.addEventListener("click", () => review("reject"));
  return node;
}

async function loadEvidence(cohort) {
  $("evidence-problem").hidden = true;
  try {
    const queue = await api(`/api/cohorts/${cohort.id}/evidence?status=pending`);
    fillList("evidence", queue.items.map(evidenceItem));
    $("evidence-empty").hidden = queue.items.length > 0;
  } catch (error) {
    if (error instanceof TabProblem && ["offline", "network", "sign_in", "consent"].includes(error.kind)) throw error;
    fillList("evidence", []);
    $("evidence-empty").hidden = true;
    $("evidence-problem").textContent = t("evidence_unavailable");
    $("evidence-problem").hidden = false;
  }
}

// ---- attention ----
function riskItem(row) {
  const node = fromTemplate("risk-template");
  node.dataset.enrolment = String(row.enrolment_id);
  node.querySelector(".item-title").textContent = row.name || "—";
  const level = node.querySelector(".level");
  const high = row.score >= HIGH_RISK;
  level.textContent = t(high ? "risk_high" : "risk_watch");
  level.dataset.level = high ? "high" : "watch";
  node.querySelector(".risk-team").textContent = row.team || "";
  node.querySelector(".reasons").replaceChildren(...row.reasons.map(listItem));
  node.querySelector(".risk-when").textContent = [
    row.last_activity ? t("last_activity", {date: shortDate(row.last_activity)}) : t("no_activity"),
    row.last_checkin ? t("last_checkin", {date: shortDate(row.last_checkin)}) : t("no_checkin"),
  ].join(" · ");
  const button = node.querySelector(".risk-checkin");
  button.textContent = t("write_checkin", {name: row.name || ""});
  button.addEventListener("click", () => {
    $("checkin-person").value = String(row.enrolment_id);
    $("checkin-note").focus();
    $("checkin-note").scrollIntoView({block: "center"});
  });
  return node;
}

// ---- check-ins ----
function noteItem(note) {
  const node = fromTemplate("note-template");
  node.querySelector(".item-title").textContent = note.person || "—";
  node.querySelector(".item-meta").textContent = t("checkin_meta", {date: formatDate(note.created_at, MOMENT),
    coach: note.coach || ""});
  const mission = node.querySelector(".note-mission");
  mission.textContent = note.mission || "";
  mission.hidden = !note.mission;
  node.querySelector(".note-text").textContent = note.note;
  return node;
}

function renderCheckins(cohort) {
  const active = cohort.enrolments.filter((e) => e.status === "active");
  const person = $("checkin-person");
  const chosen = person.value;
  person.replaceChildren(option("", t("pick_participant")),
    ...active.map((e) => option(e.enrolment_id, e.team ? `${e.name} (${e.team})` : e.name,
      String(e.enrolment_id) === chosen)));
  $("checkin-mission").replaceChildren(option("", t("no_mission")),
    ...cohort.coach_missions.map((m) => option(m.id, t("mission_option", {week: m.week, title: m.title}))));
  fillList("checkins", cohort.checkins.map(noteItem));
  $("checkins-empty").hidden = cohort.checkins.length > 0;
}

// ---- recognition ----
function nominationItem(nomination) {
  const node = fromTemplate("nomination-template");
  const name = nomination.nominee.name || "—";
  node.querySelector(".item-title").textContent = name;
  node.querySelector(".item-meta").textContent = nomination.team && nomination.team.name ? nomination.team.name : "";
  node.querySelector(".nomination-by").textContent = t("nominated_by", {name: nomination.nominator.name || "—"});
  node.querySelector(".nomination-reason").textContent = nomination.reason;
  const form = node.querySelector(".decide-form");
  const textarea = form.querySelector(".decide-message");
  textarea.id = nextId("decide-message");
  const label = form.querySelector(".decide-label");
  label.htmlFor = textarea.id;
  label.textContent = t("message_label", {name: name});
  form.querySelector(".confirm-button").textContent = t("confirm");
  const decline = form.querySelector(".decline-button");
  decline.textContent = t("decline");
  const status = form.querySelector(".decide-status");
  const decide = (decision) => busy(form, status, async () => {
    const body = {decision: decision};
    if (decision === "confirm") body.message = textarea.value.trim();
    await api(`/api/nominations/${nomination.id}/decision`, {method: "POST", body: body});
    say(status, decision === "confirm" ? t("confirmed", {name: name}) : t("declined"), "done");
    form.querySelectorAll("button").forEach((b) => { b.hidden = true; });
    textarea.disabled = true;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide("confirm");
  });
  decline.addEventListener("click", () => decide("decline"));
  return node;
}

function recognitionItem(row) {
  const node = fromTemplate("recognition-template");
  node.dataset.id = String(row.id);
  node.querySelector(".item-title").textContent = row.person.name || "—";
  const kind = node.querySelector(".kind");
  kind.textContent = t(row.kind === "ambassador" ? "kind_ambassador" : "kind_kudos");
  kind.dataset.kind = row.kind;
  node.querySelector(".recognition-meta").textContent = [row.team, t("recognised_by", {
    date: shortDate(row.created_at), name: row.by.name || "—"})].filter(Boolean).join(" · ");
  node.querySelector(".recognition-message").textContent = row.message;
  const revoked = node.querySelector(".recognition-revoked");
  const form = node.querySelector(".revoke-form");
  const showRevoked = (reason) => {
    revoked.textContent = t("revoked", {reason: reason || ""});
    revoked.hidden = false;
    form.hidden = true;
  };
  if (row.award && row.award.revoked) {
    showRevoked(row.award.revoke_reason);
  } else if (row.award) {
    form.hidden = false;
    const input = form.querySelector(".revoke-reason");
    input.id = nextId("revoke-reason");
    const label = form.querySelector(".revoke-label");
    label.htmlFor = input.id;
    label.textContent = t("revoke_reason");
    form.querySelector(".revoke").textContent = t("revoke");
    const status = form.querySelector(".revoke-status");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form, status, async () => {
        const answer = await api(`/api/recognitions/${row.id}/revoke`, {method: "POST",
          body: {reason: input.value.trim()}});
        say(status, t("revoked_done"), "done");
        showRevoked(answer.award && answer.award.revoke_reason);
      });
    });
  }
  return node;
}

// ---- set-up ----
function check(name, value, label, checked) {
  const wrapper = document.createElement("label");
  wrapper.className = "choice";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.value = String(value);
  input.checked = checked;
  const text = document.createElement("span");
  text.textContent = label;
  wrapper.append(input, text);
  return wrapper;
}

function renderEnrolled(cohort) {
  $("enrolled-summary").textContent = tn("enrolled_count", cohort.enrolments.length);
  fillList("enrolled", cohort.enrolments.map((e) => {
    const row = document.createElement("tr");
    [e.name || "—", e.team || "", t(`status_${e.status}`)].forEach((value) => {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    });
    return row;
  }));
}

function renderSetup(cohort) {
  $("fact-programme").textContent = `${cohort.programme.title} (${cohort.programme.key})`;
  $("fact-start").textContent = shortDate(cohort.start_date);
  $("fact-timezone").textContent = cohort.timezone;
  $("fact-grace").textContent = formatNumber(cohort.grace_days);
  const teams = page.options.teams;
  $("places-teams").replaceChildren(...teams.map((team) => check("team_ids", team.id,
    `${team.name} (${tn("members", team.members)})`, cohort.team_ids.includes(team.id))));
  $("places-teams-empty").hidden = teams.length > 0;
  const communities = page.options.communities;
  $("places-communities").replaceChildren(...communities.map((c) => check("community_ids", c.id, c.name,
    cohort.community_ids.includes(c.id))));
  $("places-communities-empty").hidden = communities.length > 0;
  const frozen = cohort.frozen;
  $("places-form").querySelectorAll("input, button").forEach((element) => { element.disabled = frozen; });
  renderEnrolled(cohort);
}

function renderProgrammes() {
  fillList("programmes", page.programmes.map((p) => {
    const item = document.createElement("li");
    item.className = "item compact";
    const title = document.createElement("h3");
    title.className = "item-title";
    title.textContent = p.title[lang] || p.title.en;
    const meta = document.createElement("p");
    meta.className = "item-meta";
    meta.textContent = t("programme_meta", {key: p.key, weeks: p.weeks, missions: p.missions, file: p.file}) +
      (p.shipped ? ` · ${t("programme_shipped")}` : "");
    item.append(title, meta);
    return item;
  }));
  $("cohort-programme").replaceChildren(...page.programmes.map((p) => option(p.key,
    `${p.title[lang] || p.title.en} (${p.key})`)));
  $("timezones").replaceChildren(...page.options.timezones.map((zone) => option(zone, zone)));
}

// ---- the whole page ----
async function load(wanted) {
  const query = wanted ? `?cohort=${encodeURIComponent(wanted)}` : "";
  page = await api(`/api/coach${query}`);
  cohortId = page.cohort ? page.cohort.id : null;
  renderPicker();
  renderProgrammes();
  $("no-cohorts").hidden = page.cohort !== null;
  $("cohort-view").hidden = page.cohort === null;
  document.querySelectorAll("#jump a:not([href='#programmes-title'])").forEach((a) => { a.hidden = !page.cohort; });
  if (!page.cohort) {
    $("cohort-line").textContent = "";
    showNewCohort(true);
    return;
  }
  const cohort = page.cohort;
  $("cohort-line").textContent = cohortLine(cohort);
  renderSummary(cohort);
  fillList("risk", cohort.at_risk.map(riskItem));
  $("risk-empty").hidden = cohort.at_risk.length > 0;
  renderCheckins(cohort);
  fillList("nominations", cohort.nominations.map(nominationItem));
  $("nominations-empty").hidden = cohort.nominations.length > 0;
  fillList("recognitions", cohort.recognitions.map(recognitionItem));
  $("recognitions-empty").hidden = cohort.recognitions.length > 0;
  renderSetup(cohort);
  await loadEvidence(cohort);
}

function showNewCohort(show) {
  $("new-cohort").hidden = !show;
  $("new-cohort-button").setAttribute("aria-expanded", String(show));
  if (show) {
    const form = $("cohort-form");
    if (!$("cohort-timezone").value) $("cohort-timezone").value = page ? page.options.default_timezone : "";
    if (!$("cohort-grace").value) $("cohort-grace").value = String(page ? page.options.grace_days : 3);
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; });
    $("cohort-name").focus();
  }
}

function wireForms(reload) {
  $("cohort-select").addEventListener("change", (event) => {
    reload(event.target.value).catch((error) => console.warn("Ambassador coach:", error));
  });
  $("new-cohort-button").addEventListener("click", () => showNewCohort($("new-cohort").hidden));
  $("cohort-cancel").addEventListener("click", () => {
    showNewCohort(false);
    $("new-cohort-button").focus();
  });

  $("cohort-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const status = $("cohort-form-status");
    busy(form, status, async () => {
      const grace = $("cohort-grace").value.trim();
      const body = {name: $("cohort-name").value.trim(), start_date: $("cohort-start").value,
        timezone: $("cohort-timezone").value.trim(), programme: $("cohort-programme").value,
        grace_days: grace === "" ? undefined : Number(grace)};
      try {
        const created = await api("/api/cohorts", {method: "POST", body: body});
        form.reset();
        showNewCohort(false);
        await reload(created.id);
        say($("places-status"), t("cohort_created"), "done");
        $("setup-title").scrollIntoView({block: "start"});
        say(status, "");
      } catch (error) {
        if (showFieldProblem(form, "cohort", error)) {
          say(status, "");
          return;
        }
        throw error;
      }
    });
  });

  $("places-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    busy(form, $("places-status"), async () => {
      const picked = (name) => Array.from(form.querySelectorAll(`input[name="${name}"]:checked`))
        .map((input) => Number(input.value));
      const saved = await api(`/api/cohorts/${cohortId}/places`, {method: "PUT",
        body: {team_ids: picked("team_ids"), community_ids: picked("community_ids")}});
      page.cohort.team_ids = saved.team_ids;
      page.cohort.community_ids = saved.community_ids;
      say($("places-status"), t("places_saved"), "done");
    });
  });

  $("enrol-button").addEventListener("click", () => {
    const form = $("places-form");
    busy(form, $("places-status"), async () => {
      const answer = await api(`/api/cohorts/${cohortId}/enrolments`, {method: "POST", body: {}});
      page.cohort.enrolments = answer.enrolments;
      renderEnrolled(page.cohort);
      say($("places-status"), answer.invited ? tn("invited", answer.invited) : t("nobody_new"), "done");
    });
  });

  $("checkin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const status = $("checkin-status");
    busy(form, status, async () => {
      const mission = $("checkin-mission").value;
      const person = $("checkin-person").value;
      const body = {enrolment_id: person ? Number(person) : null, note: $("checkin-note").value.trim(),
        mission_id: mission ? Number(mission) : null};
      try {
        const note = await api(`/api/cohorts/${cohortId}/checkins`, {method: "POST", body: body});
        page.cohort.checkins.unshift(note);
        fillList("checkins", page.cohort.checkins.map(noteItem));
        $("checkins-empty").hidden = true;
        $("checkin-note").value = "";
        $("checkin-mission").value = "";
        showFieldProblem(form, "checkin", null);
        say(status, note.mission ? t("checkin_saved_mission", {mission: note.mission}) : t("checkin_saved"), "done");
      } catch (error) {
        if (showFieldProblem(form, "checkin", error)) {
          say(status, "");
          return;
        }
        throw error;
      }
    });
  });

  $("programme-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const status = $("programme-status");
    const box = $("programme-problem");
    busy(form, status, async () => {
      box.hidden = true;
      const file = $("programme-file").files[0];
      if (!file) {
        say(status, "");
        showProgrammeProblem({message: $("programme-file").labels[0].textContent});
        return;
      }
      try {
        const loaded = await api("/api/programmes", {method: "POST",
          body: {filename: file.name, content: await file.text()}});
        const known = page.programmes.some((p) => p.key === loaded.key);
        if (!known) page.programmes.push(loaded);
        renderProgrammes();
        form.reset();
        say(status, known ? t("programme_unchanged") : t("programme_loaded", {
          title: loaded.title[lang] || loaded.title.en}), "done");
      } catch (error) {
        if (!(error instanceof TabProblem) || !error.detail || error.detail.status >= 500) throw error;
        say(status, "");
        showProgrammeProblem(error.detail);
      }
    });
  });
}

function showProgrammeProblem(detail) {
  $("programme-problem-title").textContent = detail.message || t("save_failed");
  const where = $("programme-problem-where");
  where.textContent = detail.file ? t("problem_at", {file: detail.file, line: detail.line}) : "";
  where.hidden = !detail.file;
  const field = $("programme-problem-field");
  field.textContent = detail.field || "";
  field.parentElement.hidden = !detail.field;
  const text = $("programme-problem-detail");
  text.textContent = detail.detail || "";
  text.hidden = !detail.detail;
  $("programme-problem").hidden = false;
}

let wired = false;
run(async () => {
  const reload = (wanted) => load(wanted);
  await load(new URLSearchParams(window.location.search).get("cohort"));
  if (!wired) {
    wired = true;
    wireForms(reload);
  }
});
