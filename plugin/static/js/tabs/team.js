/* The team (channel) tab: the team's progress for its leads; others get a friendly note. */
import {$, TabProblem, api, fillList, formatNumber, run, t} from "./common.js";

function figure(id, value) {
  $(id).textContent = value === null || value === undefined ? t("hidden_small_group") : formatNumber(value);
}

function member(entry) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  name.textContent = entry.name || t("ambassador_number", {number: entry.number});
  const points = document.createElement("td");
  points.className = "number";
  points.textContent = formatNumber(entry.points);
  row.append(name, points);
  return row;
}

function render(summary) {
  $("team-name").textContent = summary.name;
  $("team-line").textContent = t("team_line", {cohort: summary.cohort, week: summary.week});
  figure("participants", summary.participants);
  figure("active", summary.active_this_week);
  figure("knowledge", summary.knowledge_posts);
  $("small-group").hidden = summary.active_this_week !== null && summary.knowledge_posts !== null;
  fillList("shown", summary.shown.map(member));
  $("shown-empty").hidden = summary.shown.length > 0;
  $("shown-table").hidden = summary.shown.length === 0;
}

run(async (context) => {
  // The configured contentUrl carries ?team={groupId}; the Teams context has it too.
  const groupId = new URLSearchParams(window.location.search).get("team") || (context.team && context.team.groupId);
  if (!groupId) throw new TabProblem("no_team");
  const team = await api("/api/teams/by-graph-id/" + encodeURIComponent(groupId));
  const summary = await api(`/api/teams/${team.id}/summary`);
  if (!summary.cohort) throw new TabProblem("no_cohort");
  render(summary);
});
