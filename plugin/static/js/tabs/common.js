/*
 * Shared by the Ambassador tabs: texts from the page's JSON block, the Teams start-up (teams-js), the JSON API
 * with the Teams SSO token, and the loading / problem / content states of the page.
 */
const THEMES = ["default", "dark", "contrast"];
const TEXTS = JSON.parse(document.getElementById("i18n").textContent);

/** The page's language ("nl" or "en"), chosen by the server from the Teams locale. */
export const lang = document.documentElement.lang || "nl";
let locale = lang; // refined to the Teams locale (e.g. nl-NL) when it is in the page's language
let plurals = new Intl.PluralRules(lang);
let teamsLocale = null; // the Teams client's language as Teams gives it, whether or not the page speaks it

export const $ = (id) => document.getElementById(id);

/** A problem the page explains to the person (its kind picks the texts `problem_<kind>_title|text`). */
export class TabProblem extends Error {
  constructor(kind, detail) {
    super(kind);
    this.kind = kind;
    this.detail = detail || {};
  }
}

// ---- texts ----
function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (match, key) => (key in params ? String(params[key]) : match));
}

/** The text `key` with its {placeholders} filled from `params`. */
export function t(key, params = {}) {
  const text = TEXTS[key];
  return typeof text === "string" ? fill(text, params) : key;
}

/** The plural form of `key` for `count`; {num} is the count, formatted for the locale. */
export function tn(key, count, params = {}) {
  const forms = TEXTS[key] || {};
  const text = forms[plurals.select(count)] || forms.other || key;
  return fill(text, Object.assign({num: formatNumber(count)}, params));
}

export function formatNumber(value) {
  return new Intl.NumberFormat(locale).format(value);
}

/** A date or time in the person's locale; `options` as for Intl.DateTimeFormat. */
export function formatDate(value, options) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale, options).format(date);
}

function useLocale(teamsLocale) {
  if (!teamsLocale) return;
  const tag = String(teamsLocale).replace("_", "-");
  if (tag.split("-")[0].toLowerCase() !== lang) return; // texts and dates in one language
  try {
    locale = Intl.getCanonicalLocales(tag)[0];
    plurals = new Intl.PluralRules(locale);
  } catch (error) {
    locale = lang;
  }
}

// ---- Teams ----
function sdk() {
  return window.microsoftTeams;
}

/** Follow the Teams theme: a class on <html> switches the colour tokens in tabs.css. */
export function applyTheme(theme) {
  const chosen = THEMES.includes(theme) ? theme : "default";
  const root = document.documentElement;
  THEMES.forEach((name) => root.classList.toggle("theme-" + name, name === chosen));
}

function timeout(promise, ms) {
  return Promise.race([promise, new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error("timed out")), ms);
  })]);
}

async function connect() {
  const teams = sdk();
  if (!teams) throw new TabProblem("not_in_teams");
  try {
    await timeout(teams.app.initialize(), 10000);
  } catch (error) {
    throw new TabProblem("not_in_teams", {error: error});
  }
  const context = await teams.app.getContext();
  teamsLocale = (context.app && context.app.locale) || null;
  useLocale(teamsLocale);
  applyTheme(context.app && context.app.theme);
  teams.app.registerOnThemeChangeHandler(applyTheme);
  return context;
}

// ---- API ----
async function token(claims) {
  try {
    // Teams caches the token and renews it; ask every time rather than keeping it.
    return await sdk().authentication.getAuthToken(claims ? {claims: [claims]} : undefined);
  } catch (error) {
    throw new TabProblem(navigator.onLine ? "sign_in" : "offline", {error: error});
  }
}

/** The Teams client's language tag (e.g. "de-DE"), also when the page is in another language; null outside Teams. */
export function teamsLanguage() {
  return teamsLocale;
}

/**
 * Call an /api path as the signed-in person (Authorization: Bearer <Teams SSO token>); the JSON body.
 * `options.method` and `options.body` (sent as JSON) for writes; a `locale` in `path` wins over the page's.
 */
export async function api(path, options = {}) {
  if (!navigator.onLine) throw new TabProblem("offline");
  const url = new URL(path, window.location.origin);
  if (!url.searchParams.has("locale")) url.searchParams.set("locale", locale);
  const method = options.method || "GET";
  let claims = null;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const bearer = await token(claims);
    let response;
    try {
      const headers = {Authorization: "Bearer " + bearer, Accept: "application/json"};
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      response = await fetch(url, {method: method, headers: headers, cache: "no-store", credentials: "omit",
        body: options.body === undefined ? undefined : JSON.stringify(options.body)});
    } catch (error) {
      throw new TabProblem(navigator.onLine ? "network" : "offline", {error: error});
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.ok) return body;
    const code = (body && body.error) || "error";
    if (code === "interaction_required" && body.claims && claims === null) {
      claims = typeof body.claims === "string" ? body.claims : JSON.stringify(body.claims);
      continue; // Conditional Access: a new token with these claims, then once more
    }
    if (code === "consent_required") throw new TabProblem("consent", body);
    if (response.status === 401) throw new TabProblem("sign_in", body);
    throw new TabProblem(code, Object.assign({status: response.status}, body));
  }
  throw new TabProblem("sign_in");
}

// ---- page states ----
function setState(state) {
  document.body.dataset.state = state;
  $("main").setAttribute("aria-busy", String(state === "loading"));
  $("loading").hidden = state !== "loading";
  $("problem").hidden = state !== "problem";
  $("content").hidden = state !== "ready";
}

function text(key, fallback) {
  return key in TEXTS ? t(key) : t(fallback);
}

function showProblem(problem, retry) {
  const kind = problem.kind;
  document.body.dataset.problem = kind;
  $("problem-title").textContent = text(`problem_${kind}_title`, "problem_error_title");
  $("problem-text").textContent = text(`problem_${kind}_text`, "problem_error_text");
  const action = $("problem-action");
  action.hidden = kind !== "consent";
  if (kind === "consent") {
    action.textContent = t("give_permission");
    action.onclick = () => {
      const url = new URL(problem.detail.consent_url || "/auth/consent", window.location.origin).href;
      sdk().authentication.authenticate({url: url, width: 600, height: 535}).then(retry, () => undefined);
    };
  }
  // Retrying helps unless the answer is about who the person is (not enrolled, not a lead, no team).
  const final = ["not_enrolled", "forbidden", "not_found", "no_team", "no_cohort", "not_in_teams"].includes(kind);
  $("retry").hidden = final;
  $("retry").onclick = retry;
  setState("problem");
}

function clearProblem() {
  delete document.body.dataset.problem;
}

/** Replace the children of element `id` with `nodes`. */
export function fillList(id, nodes) {
  $(id).replaceChildren(...nodes);
}

/** A copy of the <template id=…>'s first element. */
export function fromTemplate(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

/**
 * Start the tab: connect to Teams, then `load(context)` fills the content; its TabProblem (or any error)
 * becomes a friendly message with a way to try again. Teams hears that the app loaded either way.
 */
export function run(load) {
  let connected = null;
  let notified = false;

  async function attempt() {
    setState("loading");
    clearProblem();
    try {
      connected = connected || connect();
      const context = await connected;
      await load(context);
      setState("ready");
    } catch (error) {
      if (!(error instanceof TabProblem)) console.warn("Ambassador tab:", error);
      const problem = error instanceof TabProblem ? error : new TabProblem("error", {error: error});
      if (problem.kind === "not_in_teams") connected = null;
      showProblem(problem, attempt);
    }
    if (!notified && sdk() && connected) {
      notified = true;
      Promise.resolve()
        .then(() => sdk().app.notifyAppLoaded())
        .then(() => sdk().app.notifySuccess())
        .catch(() => undefined);
    }
  }

  window.addEventListener("online", () => {
    if (document.body.dataset.problem === "offline" || document.body.dataset.problem === "network") attempt();
  });
  window.addEventListener("offline", () => {
    if (document.body.dataset.state === "loading") showProblem(new TabProblem("offline"), attempt);
  });
  attempt();
  return attempt;
}

// ---- forms ----
/** Put a status line on `element`; `kind` ("done", "error") styles it. */
export function say(element, text, kind) {
  element.textContent = text || "";
  element.dataset.kind = kind || "";
}

/** The message of a failed request: the API's own words when it gave some, else the page's text `fallback`. */
export function problemText(error, fallback = "save_failed") {
  return (error instanceof TabProblem && error.detail && error.detail.message) || t(fallback);
}

/** Show the API's complaint next to the field it names (`<prefix>-<field>-problem`); false when it names none
 *  on this form. `error` null only clears earlier complaints. */
export function showFieldProblem(form, prefix, error, fallback = "save_failed") {
  form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  const field = error instanceof TabProblem && error.detail ? error.detail.field : null;
  const problem = field ? $(`${prefix}-${field}-problem`) : null;
  if (!problem) return false;
  problem.textContent = problemText(error, fallback);
  problem.hidden = false;
  const input = form.querySelector(`[name="${field}"]`) || form.querySelector("select");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  return true;
}

/** Run `work` with the form's buttons disabled and `status` saying the text `pending`; a failure is shown next
 *  to the field it names (when `prefix` is given) or in `status`. */
export async function whileBusy(form, status, {pending, fallback = "save_failed", prefix = null}, work) {
  const buttons = Array.from(form.querySelectorAll("button"));
  buttons.forEach((b) => { b.disabled = true; });
  say(status, t(pending));
  try {
    await work();
  } catch (error) {
    if (!(error instanceof TabProblem)) console.warn("Ambassador:", error);
    if (prefix && showFieldProblem(form, prefix, error, fallback)) say(status, "");
    else say(status, problemText(error, fallback), "error");
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}
