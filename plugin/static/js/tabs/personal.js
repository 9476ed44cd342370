/*
 * The personal tab "My programme": one request to /api/me/programme renders the page (or, for someone invited,
 * the consent to take part). Forms on the page hand in evidence, answer the intake, change the settings and
 * withdraw; each answers in place and re-reads the programme only when the missions may have changed.
 * "Your data" downloads everything about the person and erases it; coaches and admins get a link to their pages.
 */
import {$, TabProblem, api, fillList, formatDate, formatNumber, fromTemplate, lang, run, t, teamsLanguage, tn}
  from "./common.js";

// Status → Fluent badge colour; the badge always carries the status in words too.
const STATUS_COLOUR = {open: "brand", due: "warning", done: "success", overdue: "danger", missed: "subtle",
  locked: "informative", pending: "informative"};
const DUE_FORMAT = {weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit"};
const PLATFORM_NAMES = {linkedin: "LinkedIn", x: "X"};
// Deadlines are moments in the cohort's own time zone (the programme week opens at 08:00 there).
let dueFormat = DUE_FORMAT;
let current = null; // the last programme JSON
let reload = () => undefined; // the tab's full reload (set by run below)
let erased = false; // after an erasure the tab stays empty: asking the API again would sign the person up anew

// ---- talking to the API ----

/** The API with the Teams language as Teams gives it, so the server can fall back to the person's choice. */
function call(path, options) {
  const url = new URL(path, window.location.origin);
  url.searchParams.set("locale", teamsLanguage() || "");
  return api(url.pathname + url.search, options);
}

/** Words for a failed action: the server's own message when it sent one. */
function failure(error) {
  if (error instanceof TabProblem && (error.kind === "offline" || error.kind === "network")) return t("offline_action");
  return (error && error.detail && error.detail.message) || t("action_failed");
}

/** Show the tab in `target` ("nl" or "en") when the page is in the other language; true when it navigates. */
function switchLanguage(target, {automatic}) {
  if (!target || target === lang) return false;
  const url = new URL(window.location.href);
  if (automatic && url.searchParams.has("switched")) return false; // never loop
  url.searchParams.set("locale", target);
  url.searchParams.set("switched", "1");
  const theme = ["default", "dark", "contrast"].find((name) => document.documentElement.classList.contains("theme-" + name));
  if (theme) url.searchParams.set("theme", theme);
  window.location.replace(url.href);
  return true;
}

function busy(form, on) {
  form.setAttribute("aria-busy", String(on));
  form.querySelectorAll("fluent-button[type=submit]").forEach((button) => button.toggleAttribute("disabled", on));
}

/** Move the focus to the page's heading (after the page changed under the person's feet). */
function focusTitle() {
  const title = document.querySelector(".tab-header h1");
  title.tabIndex = -1;
  title.focus();
}

function say(id, text) {
  $(id).textContent = text;
}

/** A number input's value: null when empty (or not a number the browser accepts), so the server can say why. */
function number(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

// ---- field errors ----

function setError(input, message) {
  const field = input.closest(".field");
  const error = field && field.querySelector(".field-error");
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (!error) return;
  error.hidden = !message;
  error.textContent = message || "";
  if (!error.id) error.id = (input.id || input.name) + "-error";
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(error.id)) input.setAttribute("aria-describedby", [...described, error.id].join(" "));
}

function clearErrors(form) {
  form.querySelectorAll("[aria-invalid=true]").forEach((input) => setError(input, ""));
  form.querySelectorAll(".field-error").forEach((error) => { error.hidden = true; error.textContent = ""; });
}

/** Put the server's refusal next to the field it names (or in the form's status line); focus that field. */
function showRefusal(form, error, statusLine, fields) {
  const field = error.detail && error.detail.field;
  const input = field && fields[field];
  if (input) {
    setError(input, failure(error));
    input.focus();
  } else {
    statusLine.textContent = failure(error);
  }
}

// ---- the programme ----

function cohortLine(data) {
  const cohort = data.cohort;
  if (cohort.timezone) dueFormat = {...DUE_FORMAT, timeZone: cohort.timezone};
  let when;
  if (cohort.frozen) when = t("cohort_finished");
  else if (data.week < 1) when = t("cohort_starts", {date: formatDate(cohort.start_date, {dateStyle: "long", timeZone: "UTC"})});
  else when = t("cohort_week", {week: data.week, weeks: cohort.weeks});
  return `${cohort.name} · ${when}`;
}

function week(entry) {
  const item = document.createElement("li");
  item.className = "week" + (entry.current ? " current" : entry.done ? " done" : "");
  if (entry.current) item.setAttribute("aria-current", "step");
  const label = document.createElement("span");
  label.className = "week-label";
  label.textContent = t("week_label", {week: entry.number});
  const title = document.createElement("span");
  title.className = "week-title";
  title.textContent = entry.title || "";
  item.append(label, title);
  if (entry.current || entry.done) {
    const state = document.createElement("span");
    state.className = "week-state";
    state.textContent = entry.current ? t("week_current") : t("week_done");
    item.append(state);
  }
  return item;
}

function mission(entry, thisWeek) {
  const item = fromTemplate("mission-template");
  const status = entry.status in STATUS_COLOUR ? entry.status : "open";
  const waiting = status !== "done" && entry.evidence && entry.evidence.status === "pending";
  item.dataset.status = status;
  item.dataset.slug = entry.slug;
  if (entry.evidence) item.dataset.evidence = entry.evidence.status;
  item.querySelector(".mission-title").textContent = entry.title || entry.slug;
  const badge = item.querySelector(".mission-status");
  badge.setAttribute("color", STATUS_COLOUR[waiting ? "pending" : status]);
  badge.textContent = t("status_" + (waiting ? "pending" : status));
  item.querySelector(".mission-description").textContent = entry.description || "";

  const target = Math.max(entry.target || 1, 1);
  const done = Math.min(Math.max(entry.current || 0, 0), target);
  const bar = item.querySelector(".mission-bar");
  bar.setAttribute("max", String(target));
  bar.setAttribute("value", String(status === "done" ? target : done));
  if (status === "done") bar.setAttribute("validation-state", "success");
  bar.setAttribute("aria-label", t("progress_label", {mission: entry.title || entry.slug}));
  item.querySelector(".mission-count").textContent =
    t("progress", {current: formatNumber(status === "done" ? target : done), target: formatNumber(target)});

  const due = item.querySelector(".mission-due");
  if (status === "done") due.remove();
  else {
    const when = formatDate(entry.due_at, dueFormat);
    due.textContent = status === "overdue" || status === "missed" ? t("was_due", {date: when}) : t("due", {date: when});
  }
  item.querySelector(".mission-points").textContent = tn("points", entry.points || 0);
  const optional = item.querySelector(".mission-optional");
  if (entry.optional) optional.textContent = t("optional");
  else optional.remove();
  if (!thisWeek) {
    const from = document.createElement("span");
    from.className = "mission-week";
    from.textContent = t("from_week", {week: entry.week});
    item.querySelector(".mission-meta").prepend(from, " ");
  }
  const how = item.querySelector(".mission-how");
  if (entry.how) how.querySelector("p").textContent = entry.how;
  else how.remove();
  if (entry.form) evidencePart(item, entry, thisWeek);
  else item.querySelector(".evidence").remove();
  return item;
}

// ---- evidence for self-reported missions ----

function evidenceState(entry) {
  const evidence = entry.evidence;
  if (!evidence) return "";
  if (evidence.status === "pending") return t("evidence_pending", {date: formatDate(evidence.submitted_at, {dateStyle: "long"})});
  if (evidence.status === "rejected") return t("evidence_rejected", {note: evidence.review_note || ""});
  return evidence.review_note ? t("evidence_approved_note", {note: evidence.review_note}) : t("evidence_approved");
}

function evidencePart(item, entry, thisWeek) {
  const part = item.querySelector(".evidence");
  const form = part.querySelector(".evidence-form");
  const open = part.querySelector(".evidence-open");
  const state = part.querySelector(".evidence-state");
  const base = "evidence-" + entry.slug;
  part.hidden = false;
  state.textContent = evidenceState(entry);
  state.hidden = !state.textContent;
  if (entry.evidence) state.dataset.status = entry.evidence.status;
  if (!entry.can_submit) {
    open.remove();
    form.remove();
    return;
  }
  const rejected = entry.evidence && entry.evidence.status === "rejected";
  open.textContent = rejected ? t("hand_in_again") : entry.form.figures.length ? t("hand_in_figures") : t("hand_in_link");
  form.id = base + "-form";
  open.setAttribute("aria-controls", form.id);

  const url = form.querySelector("input[name=url]");
  url.id = base + "-url";
  url.required = entry.form.url === "required";
  url.placeholder = "https://";
  const urlLabel = form.querySelector(".evidence-url label");
  urlLabel.htmlFor = url.id;
  const platform = PLATFORM_NAMES[entry.form.platform];
  urlLabel.textContent = entry.form.url === "required"
    ? (platform ? t("url_required_on", {platform: platform}) : t("url_required")) : t("url_optional");
  const note = form.querySelector("textarea[name=note]");
  note.id = base + "-note";
  form.querySelector(".evidence-note label").htmlFor = note.id;

  const fields = {url: url, note: note};
  const figures = form.querySelector(".evidence-inputs");
  entry.form.figures.forEach((name) => {
    const field = fromTemplate("figure-template");
    const input = field.querySelector("input");
    input.id = `${base}-${name}`;
    input.name = name;
    field.querySelector("label").htmlFor = input.id;
    field.querySelector("label").textContent = t("metric_" + name) === "metric_" + name ? name : t("metric_" + name);
    figures.append(field);
    fields["figures." + name] = input;
  });
  if (!entry.form.figures.length) figures.remove();

  const toggle = (show) => {
    form.hidden = !show;
    open.setAttribute("aria-expanded", String(show));
    open.hidden = show;
    if (show) (url.required || !entry.form.figures.length ? url : fields["figures." + entry.form.figures[0]]).focus();
    else open.focus();
  };
  open.addEventListener("click", () => toggle(true));
  form.querySelector(".evidence-cancel").addEventListener("click", () => toggle(false));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    handIn(item, entry, thisWeek, form, fields);
  });
}

async function handIn(item, entry, thisWeek, form, fields) {
  const statusLine = form.querySelector(".form-status");
  clearErrors(form);
  statusLine.textContent = "";
  // The server checks everything and names the field it refuses, in the tab's language.
  const body = {mission: entry.slug, url: fields.url.value.trim() || null, note: fields.note.value.trim() || null};
  if (entry.form.figures.length) {
    body.figures = Object.fromEntries(entry.form.figures.map((name) => [name, number(fields["figures." + name])]));
  }
  busy(form, true);
  statusLine.textContent = t("saving");
  try {
    const stored = await call("/api/me/evidence", {method: "POST", body: body});
    entry.evidence = stored;
    entry.can_submit = false;
    const fresh = mission(entry, thisWeek);
    item.replaceWith(fresh);
    say("page-status", t("submitted"));
    fresh.querySelector(".evidence-state").focus();
  } catch (error) {
    statusLine.textContent = "";
    showRefusal(form, error, statusLine, fields);
  } finally {
    busy(form, false);
  }
}

// ---- badges, ranking ----

function badge(entry) {
  const item = fromTemplate("badge-template");
  item.classList.add(entry.earned ? "earned" : "locked");
  item.dataset.slug = entry.slug;
  item.querySelector(".badge-icon").textContent = (entry.name || entry.slug).trim().charAt(0).toUpperCase();
  item.querySelector(".badge-name").textContent = entry.name || entry.slug;
  item.querySelector(".badge-text").textContent = entry.earned ? entry.description || "" : entry.criteria || "";
  item.querySelector(".badge-state").textContent = entry.earned ? t("badge_earned") : t("badge_locked");
  return item;
}

function rankRow(entry) {
  const row = document.createElement("tr");
  if (entry.is_me) row.className = "me";
  const place = document.createElement("td");
  place.textContent = formatNumber(entry.position);
  const name = document.createElement("td");
  name.textContent = entry.name || t("ambassador_number", {number: entry.number});
  if (entry.is_me) {
    const you = document.createElement("span");
    you.className = "you";
    you.textContent = ` (${t("you")})`;
    name.append(you);
  }
  const points = document.createElement("td");
  points.className = "number";
  points.textContent = formatNumber(entry.points);
  row.append(place, name, points);
  return row;
}

function render(data) {
  $("cohort-line").textContent = cohortLine(data);
  fillList("weeks", data.weeks.map(week));

  const thisWeek = data.missions.filter((m) => m.week === data.week);
  const earlier = data.missions.filter((m) => m.week !== data.week);
  fillList("missions", thisWeek.map((m) => mission(m, true)));
  $("missions-empty").hidden = thisWeek.length > 0;
  fillList("earlier-missions", earlier.map((m) => mission(m, false)));
  $("earlier").hidden = earlier.length === 0;

  $("tip").textContent = data.tip || "";
  $("tip-section").hidden = !data.tip;

  $("points").textContent = formatNumber(data.points);
  $("streak").textContent = formatNumber(data.streak);
  $("active-weeks").textContent = t("active_weeks", {active: formatNumber(data.active_weeks.length),
    weeks: formatNumber(data.cohort.weeks)});

  const earned = data.badges.filter((b) => b.earned);
  fillList("badges-earned", earned.map(badge));
  $("badges-none").hidden = earned.length > 0;
  fillList("badges-locked", data.badges.filter((b) => !b.earned).map(badge));

  const ranking = Array.isArray(data.ranking) ? data.ranking : [];
  fillList("ranking", ranking.map(rankRow));
  $("ranking-section").hidden = ranking.length === 0;
}

// ---- intake ----

function intakeInputs() {
  const form = $("intake-form");
  return {
    platforms: [...form.querySelectorAll("input[name=platforms]")],
    goals: [...form.querySelectorAll("input[name=goals]")],
    connections: $("intake-connections"),
    followers: $("intake-followers"),
    expertise: $("intake-expertise"),
  };
}

function fillIntake(intake) {
  const inputs = intakeInputs();
  const chosen = new Set(intake.platforms);
  inputs.platforms.forEach((box) => {
    box.checked = box.value === "none" ? Boolean(intake.completed_at) && chosen.size === 0 : chosen.has(box.value);
  });
  inputs.goals.forEach((box) => { box.checked = intake.goals.includes(box.value); });
  inputs.expertise.value = intake.expertise.join(", ");
  for (const name of ["connections", "followers"]) {
    inputs[name].value = intake[name] === null || intake[name] === undefined ? "" : String(intake[name]);
    inputs[name].disabled = intake.baseline_locked;
  }
  $("intake-figures-locked").hidden = !intake.baseline_locked;
  $("intake-figures-hint").hidden = intake.baseline_locked;
}

function showIntake(intake, {reopened}) {
  fillIntake(intake);
  clearErrors($("intake-form"));
  say("intake-status", "");
  $("intake").hidden = false;
  $("intake-skip").hidden = reopened;
  $("intake-cancel").hidden = !reopened;
  if (reopened) {
    $("intake").scrollIntoView({block: "start"});
    $("intake-title").focus();
  }
}

function hideIntake(focusId) {
  $("intake").hidden = true;
  if (focusId) $(focusId).focus();
}

async function saveIntake(event) {
  event.preventDefault();
  const form = $("intake-form");
  const inputs = intakeInputs();
  clearErrors(form);
  const body = {
    platforms: inputs.platforms.filter((box) => box.checked && box.value !== "none").map((box) => box.value),
    goals: inputs.goals.filter((box) => box.checked).map((box) => box.value),
    expertise: inputs.expertise.value.split(/[,;\n]/).map((topic) => topic.trim()).filter(Boolean),
  };
  for (const name of ["connections", "followers"]) {
    if (!inputs[name].disabled) body[name] = number(inputs[name]);
  }
  busy(form, true);
  say("intake-status", t("saving"));
  try {
    await call("/api/me/intake", {method: "POST", body: body});
    await refresh();
    hideIntake(null);
    focusTitle();
    say("page-status", t("intake_saved"));
  } catch (error) {
    say("intake-status", "");
    const fields = {platforms: inputs.platforms[0], goals: inputs.goals[0], connections: inputs.connections,
      followers: inputs.followers, expertise: inputs.expertise};
    showRefusal(form, error, $("intake-status"), fields);
  } finally {
    busy(form, false);
  }
}

async function skipIntake() {
  const form = $("intake-form");
  busy(form, true);
  try {
    await call("/api/me/intake", {method: "POST", body: {skip: true}});
    hideIntake(null);
    focusTitle();
  } catch (error) {
    say("intake-status", failure(error));
  } finally {
    busy(form, false);
  }
}

function wireIntake() {
  const inputs = intakeInputs();
  const none = $("platforms-none");
  inputs.platforms.forEach((box) => box.addEventListener("change", () => {
    if (!box.checked) return;
    if (box === none) inputs.platforms.forEach((other) => { if (other !== none) other.checked = false; });
    else none.checked = false;
  }));
  $("intake-form").addEventListener("submit", saveIntake);
  $("intake-skip").addEventListener("click", skipIntake);
  $("intake-cancel").addEventListener("click", () => hideIntake("intake-open"));
  $("intake-open").addEventListener("click", () => showIntake(current.extra.intake, {reopened: true}));
}

// ---- settings ----

function fillSettings(data) {
  const settings = data.settings;
  $("settings-language").value = settings.locale || "auto";
  const form = $("settings-form");
  form.querySelectorAll("input[name=ranking_visibility]").forEach((radio) => {
    radio.checked = radio.value === (settings.ranking_visibility || "off");
  });
  const muted = new Set(settings.muted_notifications || []);
  form.querySelectorAll("input[name=notify]").forEach((box) => { box.checked = !muted.has(box.value); });
}

async function saveSettings(event) {
  event.preventDefault();
  const form = $("settings-form");
  const ranking = form.querySelector("input[name=ranking_visibility]:checked");
  const body = {
    locale: $("settings-language").value,
    ranking_visibility: ranking ? ranking.value : "off",
    muted_notifications: [...form.querySelectorAll("input[name=notify]")].filter((box) => !box.checked)
      .map((box) => box.value),
  };
  busy(form, true);
  say("settings-status", t("saving"));
  try {
    const saved = await call("/api/me/settings", {method: "PUT", body: body});
    if (switchLanguage(saved.effective_locale, {automatic: false})) return;
    let message = t("saved");
    if (saved.locale !== "auto" && saved.locale !== saved.effective_locale) {
      message += " " + t("language_note", {language: t("language_" + saved.effective_locale)});
    }
    await refresh();
    say("settings-status", message);
  } catch (error) {
    say("settings-status", failure(error));
  } finally {
    busy(form, false);
  }
}

function wireSettings() {
  $("settings-form").addEventListener("submit", saveSettings);
  $("withdraw-ask").addEventListener("click", () => {
    $("withdraw-confirm").hidden = false;
    $("withdraw-ask").hidden = true;
    $("withdraw-no").focus();
  });
  $("withdraw-no").addEventListener("click", () => {
    $("withdraw-confirm").hidden = true;
    $("withdraw-ask").hidden = false;
    $("withdraw-ask").focus();
  });
  $("withdraw-yes").addEventListener("click", async () => {
    say("withdraw-status", t("saving"));
    try {
      await call("/api/me/consent", {method: "DELETE"});
      await reload();
      say("consent-status", t("withdrawn"));
      $("consent-title").focus();
    } catch (error) {
      say("withdraw-status", failure(error));
    }
  });
}

// ---- links to the other pages ----

/** A tab page's address with this page's ?locale= and ?theme= (the theme as Teams has it now). */
function tabUrl(path) {
  const here = new URLSearchParams(window.location.search);
  const url = new URL(path, window.location.origin);
  if (here.get("locale")) url.searchParams.set("locale", here.get("locale"));
  const theme = ["default", "dark", "contrast"].find((name) => document.documentElement.classList.contains("theme-" + name));
  if (theme || here.get("theme")) url.searchParams.set("theme", theme || here.get("theme"));
  return url.pathname + url.search;
}

/** Show the header links the caller's `roles` open (coaches and admins: the coach pages). */
function showLinks(roles) {
  const list = Array.isArray(roles) ? roles : [];
  const coach = $("coach-link");
  coach.hidden = !list.includes("coach") && !list.includes("admin");
  coach.href = tabUrl("/tabs/coach");
  $("share-link").href = tabUrl("/tabs/share");
  const nav = $("header-links");
  nav.hidden = [...nav.querySelectorAll("a")].every((link) => link.hidden);
}

// ---- my data: download and erase ----

async function downloadMyData() {
  const button = $("export-button");
  button.setAttribute("disabled", "");
  say("export-status", t("export_preparing"));
  try {
    // A plain link would not carry the Teams token: fetch the file, then hand it to the browser as a download.
    const data = await call("/api/me/export");
    const file = `ambassador-export-${String(data.generated_at || "").slice(0, 10) || "data"}.json`;
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], {type: "application/json"}));
    const link = document.createElement("a");
    link.href = url;
    link.download = file;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say("export-status", t("export_done", {file: file}));
  } catch (error) {
    say("export-status", failure(error));
  } finally {
    button.removeAttribute("disabled");
  }
}

function toggleErase(show) {
  const form = $("erase-form");
  form.hidden = !show;
  $("erase-ask").hidden = show;
  $("erase-ask").setAttribute("aria-expanded", String(show));
  if (show) {
    clearErrors(form);
    say("erase-status", "");
    $("erase-confirm").value = "";
    $("erase-question").focus();
  } else {
    $("erase-ask").focus();
  }
}

async function eraseMyData(event) {
  event.preventDefault();
  const form = $("erase-form");
  const input = $("erase-confirm");
  clearErrors(form);
  busy(form, true);
  say("erase-status", t("erasing"));
  try {
    const result = await call("/api/me/erase", {method: "POST", body: {confirm: input.value}});
    erased = true;
    current = null;
    $("header-links").hidden = true; // someone new from here on: no pages to point to
    say("cohort-line", "");
    say("erase-result", result.message);
    await reload();
    $("erase-result").focus();
  } catch (error) {
    say("erase-status", "");
    showRefusal(form, error, $("erase-status"), {confirm: input});
  } finally {
    busy(form, false);
  }
}

/** The "Your data" card, below the settings or below the consent; `name` (when known) is what to type. */
function showMyData(name) {
  $("erase-confirm-hint").textContent = name ? t("erase_hint_name", {name: name}) : $("erase-confirm-hint").textContent;
  $("my-data").hidden = false;
}

function wireMyData() {
  $("export-button").addEventListener("click", downloadMyData);
  $("erase-ask").addEventListener("click", () => toggleErase(true));
  $("erase-no").addEventListener("click", () => toggleErase(false));
  $("erase-form").addEventListener("submit", eraseMyData);
}

// ---- consent ----

function showConsent(consent) {
  const cohort = consent.cohort;
  const withdrawn = consent.status === "withdrawn";
  $("cohort-line").textContent = cohort.name;
  $("consent-title").textContent = t(withdrawn ? "consent_title_withdrawn" : "consent_title", {cohort: cohort.name});
  $("consent-when").textContent = t("consent_when", {
    date: formatDate(cohort.start_date, {dateStyle: "long", timeZone: "UTC"}), weeks: formatNumber(cohort.weeks)});
  $("consent-withdrawn").hidden = !withdrawn;
  const yes = $("consent-yes");
  yes.textContent = t(withdrawn ? "consent_yes_again" : "consent_yes");
  yes.onclick = async () => {
    yes.setAttribute("disabled", "");
    say("consent-status", t("saving"));
    try {
      await call("/api/me/consent", {method: "POST", body: {version: consent.version}});
      await reload();
      focusTitle();
    } catch (error) {
      if (error instanceof TabProblem && error.kind === "consent_outdated") window.location.reload();
      say("consent-status", failure(error));
    } finally {
      yes.removeAttribute("disabled");
    }
  };
  $("programme").hidden = true;
  $("consent").hidden = false;
  showMyData(null);
}

// ---- the whole tab ----

function showProgramme(data) {
  current = data;
  $("consent").hidden = true;
  $("programme").hidden = false;
  render(data);
  fillSettings(data);
  showLinks(data.roles);
  showMyData(data.name);
  if (data.intake_needed) showIntake(data.extra.intake, {reopened: false});
}

/** Read the programme again and redraw it, without the loading state (after a change the person made). */
async function refresh() {
  const data = await call("/api/me/programme");
  current = data;
  render(data);
  fillSettings(data);
}

async function load() {
  if (erased) throw new TabProblem("not_enrolled");
  let data;
  try {
    data = await call("/api/me/programme");
  } catch (error) {
    if (error instanceof TabProblem && error.kind === "consent_needed" && error.detail.consent) {
      showConsent(error.detail.consent);
      return;
    }
    if (error instanceof TabProblem && error.kind === "not_enrolled") showLinks(error.detail.roles);
    throw error;
  }
  // The server chose the language (Teams, then the person's choice, then the browser); follow it.
  if (switchLanguage(data.extra && data.extra.locale, {automatic: true})) return new Promise(() => undefined);
  say("page-status", "");
  showProgramme(data);
}

wireIntake();
wireSettings();
wireMyData();
reload = run(load);
