/* The personal tab "My programme": one request to /api/me/programme, rendered into the page's sections. */
import {$, api, fillList, formatDate, formatNumber, fromTemplate, run, t, tn} from "./common.js";

// Status → Fluent badge colour; the badge always carries the status in words too.
const STATUS_COLOUR = {open: "brand", due: "warning", done: "success", overdue: "danger", missed: "subtle",
  locked: "informative"};
const DUE_FORMAT = {weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit"};
// Deadlines are moments in the cohort's own time zone (the programme week opens at 08:00 there).
let dueFormat = DUE_FORMAT;

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
  item.dataset.status = status;
  item.dataset.slug = entry.slug;
  item.querySelector(".mission-title").textContent = entry.title || entry.slug;
  const badge = item.querySelector(".mission-status");
  badge.setAttribute("color", STATUS_COLOUR[status]);
  badge.textContent = t("status_" + status);
  item.querySelector(".mission-description").textContent = entry.description || "";

  const target = Math.max(entry.target || 1, 1);
  const current = Math.min(Math.max(entry.current || 0, 0), target);
  const bar = item.querySelector(".mission-bar");
  bar.setAttribute("max", String(target));
  bar.setAttribute("value", String(status === "done" ? target : current));
  if (status === "done") bar.setAttribute("validation-state", "success");
  bar.setAttribute("aria-label", t("progress_label", {mission: entry.title || entry.slug}));
  item.querySelector(".mission-count").textContent =
    t("progress", {current: formatNumber(status === "done" ? target : current), target: formatNumber(target)});

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
  return item;
}

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

  const current = data.missions.filter((m) => m.week === data.week);
  const earlier = data.missions.filter((m) => m.week !== data.week);
  fillList("missions", current.map((m) => mission(m, true)));
  $("missions-empty").hidden = current.length > 0;
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

run(async () => {
  render(await api("/api/me/programme"));
});
