/*
 * The impact report (/tabs/coach/report?cohort=<id>[&team=<id>]): baseline vs programme vs last weeks as Chart.js
 * charts, each with the same numbers in a table for screen readers, plus the figures with their definitions.
 * Colours come from the Fluent tokens of the current theme; series also differ by pattern, not only by colour.
 */
import {$, TabProblem, api, fillList, lang, run, t, tn} from "./common.js";

const params = new URLSearchParams(window.location.search);
const cohortId = params.get("cohort");
const teamId = params.get("team");
const RATE_KEYS = ["posts", "knowledge_posts", "replies", "reach"];
const PERIODS = ["baseline", "programme", "last"];
const NUMBER = new Intl.NumberFormat(lang, {minimumFractionDigits: 2, maximumFractionDigits: 2});
const PERCENT = new Intl.NumberFormat(lang, {style: "percent", maximumFractionDigits: 0});
const WHOLE = new Intl.NumberFormat(lang, {maximumFractionDigits: 0});
const DAY = new Intl.DateTimeFormat(lang, {day: "numeric", month: "short", year: "numeric"});

let report = null;
let charts = [];

// ---- formatting ----
function value(unit, number) {
  if (number === null || number === undefined) return "–";
  if (unit === "share") return PERCENT.format(number);
  if (unit === "count" || unit === "average") return WHOLE.format(number);
  return NUMBER.format(number);
}

function day(iso) {
  return DAY.format(new Date(iso + "T12:00:00"));
}

function cell(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

// ---- header ----
function renderHeader(data) {
  const cohort = data.cohort;
  $("report-line").textContent = data.team
    ? t("team_line", {team: data.team.name || "", cohort: cohort.name})
    : t("cohort_line", {cohort: cohort.name, weeks_over: cohort.weeks_over, weeks: cohort.weeks});
  const parts = ["baseline", "programme"].map((name) => {
    const period = data.periods[name];
    return period.from
      ? t("period_line", {period: period.label, start: day(period.from), end: day(period.to)})
      : t("period_none", {period: period.label});
  });
  $("report-periods").textContent = parts.join(" · ");
  PERIODS.forEach((name) => { $("head-" + name).textContent = data.periods[name].label; });
}

function renderStatements(data) {
  fillList("statements", data.statements.map((text) => cell("li", text)));
  $("statements-none").hidden = data.statements.length > 0;
  $("statements-none").textContent = t("no_statements", {min: data.min_group});
}

// ---- figures table ----
function figureRow(figure, minGroup) {
  const row = document.createElement("tr");
  const head = document.createElement("th");
  head.scope = "row";
  head.append(cell("span", figure.label, "figure-label"), cell("span", figure.definition, "figure-definition"));
  row.append(head);
  if (figure.suppressed) {
    // Nobody behind the figure (no final network numbers yet) is not the same as too few people.
    const hidden = cell("td", figure.people === 0 ? t("no_data") : t("hidden", {min: minGroup}), "hidden-value");
    hidden.colSpan = 4;
    row.append(hidden);
  } else {
    const network = figure.unit === "average";
    row.append(
      cell("td", value(figure.unit, figure.baseline), "number"),
      cell("td", value(figure.unit, figure.programme), "number"),
      cell("td", network ? "" : value(figure.unit, figure.last), "number"),
      cell("td", figure.change_text || "–", "number change"),
    );
    if (network) {
      row.children[1].title = t("network_before");
      row.children[2].title = t("network_after");
    }
  }
  row.append(cell("td", tn("people", figure.people), "number people"));
  return row;
}

function renderFigures(data) {
  const rows = data.figures.filter((f) => f.unit !== "count").map((f) => figureRow(f, data.min_group));
  fillList("figures", rows);
}

function renderResults(data) {
  const tiles = data.figures.filter((f) => f.unit === "count").map((figure) => {
    const tile = document.createElement("div");
    tile.className = "stat";
    const term = cell("dt", figure.label);
    term.title = figure.definition;
    tile.append(term, cell("dd", figure.suppressed ? "–" : value("count", figure.programme)));
    return tile;
  });
  fillList("results", tiles);
}

// ---- tables behind the charts (for screen readers) ----
function renderRateTable(data) {
  const head = document.createElement("tr");
  head.append(cell("th", t("axis_per_person")));
  PERIODS.forEach((name) => head.append(cell("th", data.periods[name].label)));
  Array.from(head.children).forEach((th) => { th.scope = "col"; });
  fillList("rates-head", [head]);
  fillList("rates-body", rateFigures(data).map((figure) => {
    const row = document.createElement("tr");
    const label = cell("th", figure.label);
    label.scope = "row";
    row.append(label, ...PERIODS.map((name) => cell("td", value(figure.unit, figure[name]))));
    return row;
  }));
}

function renderWeeklyTable(data) {
  fillList("weekly-body", data.weekly.map((week) => {
    const row = document.createElement("tr");
    const label = cell("th", t("week_long", {week: week.week}));
    label.scope = "row";
    row.append(label, cell("td", data.periods[week.period].label), cell("td", WHOLE.format(week.active)),
      cell("td", PERCENT.format(week.active_share)), cell("td", NUMBER.format(week.posts_per_person)));
    return row;
  }));
}

function renderTeams(data) {
  if (data.teams.length === 0) {
    const row = document.createElement("tr");
    const empty = cell("td", t("no_team_rows"), "muted");
    empty.colSpan = 5;
    row.append(empty);
    fillList("teams", [row]);
    return;
  }
  fillList("teams", data.teams.map((team) => {
    const row = document.createElement("tr");
    const name = cell("th", team.name);
    name.scope = "row";
    row.append(name, cell("td", WHOLE.format(team.people), "number"));
    if (team.suppressed) {
      const hidden = cell("td", t("hidden", {min: data.min_group}), "hidden-value");
      hidden.colSpan = 3;
      row.append(hidden);
    } else {
      row.append(cell("td", value("count", team.ambassadors), "number"),
        cell("td", value("share", team.active_share), "number"),
        cell("td", team.activity_change_text || "–", "number"));
    }
    return row;
  }));
}

function rateFigures(data) {
  return RATE_KEYS.map((key) => data.figures.find((f) => f.key === key)).filter((f) => f && !f.suppressed);
}

// ---- charts ----
function token(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#808080";
}

function palette() {
  return {
    text: token("--colorNeutralForeground1"),
    muted: token("--colorNeutralForeground2"),
    grid: token("--colorNeutralStroke2"),
    background: token("--colorNeutralBackground1"),
    baseline: token("--colorNeutralStrokeAccessible"),
    programme: token("--colorBrandForeground1"),
    last: token("--colorPaletteMarigoldBorderActive"),
  };
}

/** Diagonal stripes: the baseline reads as "before" without relying on colour (high contrast, colour blindness). */
function hatch(colour, background) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const pen = tile.getContext("2d");
  pen.fillStyle = background;
  pen.fillRect(0, 0, 8, 8);
  pen.strokeStyle = colour;
  pen.lineWidth = 2;
  pen.beginPath();
  pen.moveTo(-2, 2); pen.lineTo(2, -2);
  pen.moveTo(0, 8); pen.lineTo(8, 0);
  pen.moveTo(6, 10); pen.lineTo(10, 6);
  pen.stroke();
  return pen.createPattern(tile, "repeat");
}

function axes(colours, yTitle, options = {}) {
  const ticks = {color: colours.muted};
  return {
    x: {ticks: ticks, grid: {color: colours.grid, display: options.xGrid || false}, border: {color: colours.grid}},
    y: {beginAtZero: true, ticks: Object.assign({}, ticks, options.yTicks || {}), grid: {color: colours.grid},
        border: {color: colours.grid}, title: {display: Boolean(yTitle), text: yTitle, color: colours.muted},
        max: options.yMax},
  };
}

function baseOptions(colours) {
  return {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: {legend: {labels: {color: colours.text, boxWidth: 14, boxHeight: 14}},
              tooltip: {backgroundColor: colours.text, titleColor: colours.background, bodyColor: colours.background}},
  };
}

/** A vertical line where the programme starts, on the weekly chart. */
const startLine = {
  id: "startLine",
  afterDatasetsDraw(chart, args, options) {
    if (options.index === null || options.index === undefined) return;
    const x = chart.scales.x.getPixelForValue(options.index - 0.5);
    const {top, bottom} = chart.chartArea;
    const pen = chart.ctx;
    pen.save();
    pen.strokeStyle = options.colour;
    pen.setLineDash([4, 4]);
    pen.beginPath();
    pen.moveTo(x, top);
    pen.lineTo(x, bottom);
    pen.stroke();
    pen.restore();
  },
};

function ratesChart(Chart, data, colours) {
  const figures = rateFigures(data);
  if (figures.length === 0) return null;
  const fills = {baseline: hatch(colours.baseline, colours.background), programme: colours.programme, last: colours.last};
  const datasets = PERIODS.filter((name) => figures.some((f) => f[name] !== null)).map((name) => ({
    label: data.periods[name].label, data: figures.map((f) => f[name]), backgroundColor: fills[name],
    borderColor: name === "baseline" ? colours.baseline : fills[name], borderWidth: 1,
  }));
  const options = baseOptions(colours);
  options.scales = axes(colours, t("axis_per_person"));
  options.plugins.tooltip.callbacks = {label: (item) => `${item.dataset.label}: ${NUMBER.format(item.parsed.y)}`};
  return new Chart($("rates-chart"), {type: "bar", data: {labels: figures.map((f) => f.label), datasets}, options});
}

function weeklyChart(Chart, data, colours) {
  if (data.weekly.length === 0) return null;
  const firstProgramme = data.weekly.findIndex((w) => w.week > 0);
  const before = (index) => data.weekly[index].week < 0;
  const options = baseOptions(colours);
  options.plugins.legend.display = false;
  options.plugins.startLine = {index: firstProgramme > 0 ? firstProgramme : null, colour: colours.muted};
  options.plugins.tooltip.callbacks = {
    title: (items) => t("week_long", {week: data.weekly[items[0].dataIndex].week}),
    label: (item) => `${PERCENT.format(item.parsed.y / 100)} (${WHOLE.format(data.weekly[item.dataIndex].active)})`,
  };
  options.scales = axes(colours, t("axis_share"), {yMax: 100, yTicks: {callback: (v) => PERCENT.format(v / 100)}});
  return new Chart($("weekly-chart"), {
    type: "line",
    data: {
      labels: data.weekly.map((w) => t("week_short", {week: w.week})),
      datasets: [{
        label: t("axis_share"), data: data.weekly.map((w) => Math.round(w.active_share * 1000) / 10),
        borderColor: colours.programme, borderWidth: 2, tension: 0,  // straight lines: no curve between weeks
        pointRadius: 3, pointBackgroundColor: data.weekly.map((w, i) => (before(i) ? colours.baseline : colours.programme)),
        pointBorderColor: data.weekly.map((w, i) => (before(i) ? colours.baseline : colours.programme)),
        segment: {
          borderColor: (part) => (before(part.p1DataIndex) ? colours.baseline : colours.programme),
          borderDash: (part) => (before(part.p1DataIndex) ? [6, 4] : undefined),
        },
      }],
    },
    options,
    plugins: [startLine],
  });
}

function teamsChart(Chart, data, colours) {
  const shown = data.teams.filter((team) => !team.suppressed && team.people > 0);
  $("teams-chart-box").hidden = shown.length === 0;
  if (shown.length === 0) return null;
  $("teams-chart-box").classList.toggle("tall", shown.length > 6);
  const options = baseOptions(colours);
  options.indexAxis = "y";
  options.plugins.legend.display = false;
  options.scales = axes(colours, "", {xGrid: true});
  options.scales.x.title = {display: true, text: t("axis_ambassadors"), color: colours.muted};
  options.scales.x.ticks.precision = 0;
  // Leave room to grow: one ambassador should not look like a full bar.
  options.scales.x.suggestedMax = Math.max(3, ...shown.map((team) => (team.ambassadors || 0) + 1));
  options.scales.y.grid = {display: false};
  return new Chart($("teams-chart"), {
    type: "bar",
    data: {labels: shown.map((team) => team.name), datasets: [{
      label: t("axis_ambassadors"), data: shown.map((team) => team.ambassadors), backgroundColor: colours.programme,
      borderColor: colours.programme, borderWidth: 1, maxBarThickness: 28,
    }]},
    options,
  });
}

async function drawCharts() {
  charts.forEach((chart) => chart.destroy());
  charts = [];
  if (!report || report.suppressed) return;
  const Chart = await chartLibrary();
  const colours = palette();
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = colours.text;
  charts = [ratesChart(Chart, report, colours), weeklyChart(Chart, report, colours), teamsChart(Chart, report, colours)]
    .filter(Boolean);
}

function chartLibrary() {
  if (window.Chart) return Promise.resolve(window.Chart);
  return new Promise((resolve, reject) => {
    const script = $("chart-js");
    script.addEventListener("load", () => resolve(window.Chart));
    script.addEventListener("error", () => reject(new Error("Chart.js did not load")));
  });
}

// ---- tools: team picker and downloads ----
function setupTeamPicker(data, me) {
  const coach = me.roles.includes("coach") || me.roles.includes("admin");
  if (!coach) return;
  const select = $("team-select");
  const options = [new Option(t("all_teams"), "")];
  data.teams.filter((team) => team.id !== null).forEach((team) => options.push(new Option(team.name, String(team.id))));
  select.replaceChildren(...options);
  select.value = teamId || "";
  select.onchange = () => {
    const next = new URLSearchParams(window.location.search);
    if (select.value) next.set("team", select.value); else next.delete("team");
    window.location.search = next.toString();
  };
  $("team-pick").hidden = options.length < 2;
}

async function download(extension) {
  const teams = window.microsoftTeams;
  const url = new URL(`/api/cohorts/${encodeURIComponent(cohortId)}/impact.${extension}`, window.location.origin);
  if (teamId) url.searchParams.set("team", teamId);
  url.searchParams.set("locale", params.get("locale") || lang);
  try {
    const bearer = await teams.authentication.getAuthToken();
    const response = await fetch(url, {headers: {Authorization: "Bearer " + bearer}, credentials: "omit", cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name || `impact.${extension}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    console.warn("Ambassador report download:", error);
    window.alert(t("download_failed"));
  }
}

// ---- page ----
function render(data, me) {
  report = data;
  renderHeader(data);
  $("group-hidden").hidden = !data.suppressed;
  $("group-hidden").textContent = t("group_hidden", {min: data.min_group});
  renderStatements(data);
  renderFigures(data);
  renderResults(data);
  $("charts").hidden = data.suppressed;
  renderRateTable(data);
  renderWeeklyTable(data);
  renderTeams(data);
  setupTeamPicker(data, me);
  $("report-tools").hidden = false;
  $("download-csv").onclick = () => download("csv");
  $("download-json").onclick = () => download("json");
}

// Teams switches themes without reloading (common.js swaps the class on <html>): redraw in the new colours.
new MutationObserver(() => { drawCharts().catch((error) => console.warn("Ambassador report:", error)); })
  .observe(document.documentElement, {attributes: true, attributeFilter: ["class"]});

run(async () => {
  if (!cohortId || !/^\d+$/.test(cohortId)) throw new TabProblem("no_cohort");
  const query = teamId ? `?team=${encodeURIComponent(teamId)}` : "";
  const [data, me] = await Promise.all([api(`/api/cohorts/${cohortId}/impact${query}`), api("/api/me")]);
  render(data, me);
  // The charts measure their boxes, so draw them once the content is visible.
  requestAnimationFrame(() => { drawCharts().catch((error) => console.warn("Ambassador report:", error)); });
});
