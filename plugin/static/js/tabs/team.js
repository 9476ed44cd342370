/*
 * The team (channel) tab: the team's progress for its leads, with "Recognise" (the Ambassador badge or a kudos,
 * optionally posted in the channel) and the team's nominations. Colleagues who are not the lead see a note
 * that the progress is for leads and, when they take part, a form to nominate a colleague.
 */
import {
  $, TabProblem, api, fillList, formatDate, formatNumber, fromTemplate, problemText, run, say, showFieldProblem, t,
  whileBusy,
} from "./common.js";

let board = null; // GET /api/teams/<id>/recognitions
let teamId = null;
let channelId = null; // the channel this tab is in (from the Teams context)
let confirming = null; // the nomination the recognise form confirms, if any
let wired = false;

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

// ---- forms ----
function sending(form, status, prefix, work) {
  return whileBusy(form, status, {pending: "sending", fallback: "send_failed", prefix: prefix}, work);
}

function option(value, label) {
  const element = document.createElement("option");
  element.value = String(value);
  element.textContent = label;
  return element;
}

// ---- recognition (leads) ----
function colleagueOptions() {
  const select = $("recognise-person");
  const chosen = select.value;
  select.replaceChildren(option("", t("pick_colleague")), ...board.colleagues.map((c) =>
    option(c.id, c.ambassador ? t("is_ambassador", {name: c.name}) : c.name)));
  select.value = board.colleagues.some((c) => String(c.id) === chosen) ? chosen : "";
  followColleague();
}

/** Someone who is an ambassador already can get a kudos, not the badge again. */
function followColleague() {
  const picked = board.colleagues.find((c) => String(c.id) === $("recognise-person").value);
  const badge = document.querySelector("#recognise-kind input[value='ambassador']");
  const already = Boolean(picked && picked.ambassador);
  badge.disabled = already;
  if (already && badge.checked) document.querySelector("#recognise-kind input[value='kudos']").checked = true;
}

function recognitionItem(row) {
  const node = fromTemplate("recognition-template");
  node.querySelector(".item-title").textContent = row.person.name || "—";
  const kind = node.querySelector(".kind");
  kind.textContent = row.award && row.award.revoked ? t("badge_withdrawn")
    : t(row.kind === "ambassador" ? "kind_ambassador" : "kind_kudos");
  kind.dataset.kind = row.award && row.award.revoked ? "revoked" : row.kind;
  node.querySelector(".recognition-meta").textContent = t("recognised_by", {
    date: formatDate(row.created_at, {day: "numeric", month: "long"}), name: row.by.name || "—"});
  node.querySelector(".recognition-message").textContent = row.message;
  return node;
}

function nominationItem(nomination) {
  const node = fromTemplate("nomination-template");
  node.dataset.id = String(nomination.id);
  const name = nomination.nominee.name || "—";
  node.querySelector(".item-title").textContent = name;
  node.querySelector(".nomination-by").textContent = t("nominated_by", {name: nomination.nominator.name || "—"});
  node.querySelector(".nomination-reason").textContent = nomination.reason;
  const confirm = node.querySelector(".confirm-button");
  const decline = node.querySelector(".decline-button");
  confirm.textContent = t("confirm");
  decline.textContent = t("decline");
  const status = node.querySelector(".nomination-status");
  confirm.addEventListener("click", () => startConfirming(nomination));
  decline.addEventListener("click", async () => {
    confirm.disabled = decline.disabled = true;
    try {
      await api(`/api/nominations/${nomination.id}/decision`, {method: "POST", body: {decision: "decline"}});
      say(status, t("declined"), "done");
      confirm.hidden = decline.hidden = true;
    } catch (error) {
      say(status, problemText(error, "send_failed"), "error");
      confirm.disabled = decline.disabled = false;
    }
  });
  return node;
}

function startConfirming(nomination) {
  confirming = nomination;
  const select = $("recognise-person");
  select.value = String(nomination.nominee.id);
  select.disabled = true;
  document.querySelector("#recognise-kind input[value='ambassador']").checked = true;
  document.querySelectorAll("#recognise-kind input").forEach((input) => { input.disabled = true; });
  const note = $("recognise-nomination");
  note.textContent = t("confirming", {name: nomination.nominee.name || ""});
  note.hidden = false;
  $("recognise-cancel").hidden = false;
  $("recognise-message").focus();
}

function stopConfirming() {
  confirming = null;
  $("recognise-person").disabled = false;
  document.querySelectorAll("#recognise-kind input").forEach((input) => { input.disabled = false; });
  $("recognise-nomination").hidden = true;
  $("recognise-cancel").hidden = true;
  followColleague();
}

function renderBoard() {
  $("recognition").hidden = false;
  colleagueOptions();
  fillList("nominations", board.nominations.map(nominationItem));
  $("nominations-empty").hidden = board.nominations.length > 0;
  fillList("recent", board.recent.map(recognitionItem));
  $("recent-empty").hidden = board.recent.length > 0;
  // Post in the channel this tab lives in, when it is one of the team's channels.
  if (!board.channels.some((c) => c.id === channelId)) channelId = null;
}

function recognisedText(answer, created) {
  if (!created) return t("recognised_before");
  const name = answer.person.name || "";
  let text = t(answer.kind === "ambassador" ? "recognised_ambassador" : "recognised_kudos", {name: name});
  const post = answer.channel_post;
  if (post && post.status === "posted") text += " " + t("posted_in", {channel: post.channel});
  else if (post) text += " " + post.message;
  return text;
}

function wireRecognition() {
  $("recognise-person").addEventListener("change", followColleague);
  $("recognise-cancel").addEventListener("click", stopConfirming);
  $("recognise-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const status = $("recognise-status");
    sending(form, status, "recognise", async () => {
      const person = $("recognise-person").value;
      const shared = {message: $("recognise-message").value.trim(), post_to_channel: $("recognise-post").checked};
      if (channelId) shared.channel_id = channelId;
      let answer;
      let created = true;
      if (confirming) {
        const decided = await api(`/api/nominations/${confirming.id}/decision`, {method: "POST",
          body: Object.assign({decision: "confirm"}, shared)});
        answer = Object.assign({}, decided.recognition || {person: confirming.nominee, kind: "ambassador"},
          {channel_post: decided.channel_post});
      } else {
        const kind = form.querySelector("input[name='kind']:checked").value;
        answer = await api(`/api/teams/${teamId}/recognitions`, {method: "POST",
          body: Object.assign({person_id: person ? Number(person) : null, kind: kind}, shared)});
        created = answer.created !== false;
      }
      showFieldProblem(form, "recognise", null);
      form.reset();
      stopConfirming();
      board = await api(`/api/teams/${teamId}/recognitions`);
      renderBoard();
      say(status, recognisedText(answer, created), "done");
    });
  });
}

// ---- nominating (colleagues who are not the lead) ----
function myNominations(view) {
  const list = $("nominate-mine");
  list.replaceChildren(...view.mine.map((n) => {
    const item = document.createElement("li");
    item.textContent = t("my_nomination", {name: n.nominee || "—", status: t(`nomination_${n.status}`)});
    return item;
  }));
  $("nominate-mine-title").hidden = view.mine.length === 0;
}

async function offerNomination(groupId) {
  let view;
  try {
    view = await api(`/api/teams/by-graph-id/${encodeURIComponent(groupId)}/nominate`);
  } catch (error) {
    return; // not taking part in this team's group: the note about the tab is enough
  }
  const card = fromTemplate("nominate-template");
  $("problem").after(card);
  $("nominate-person").replaceChildren(option("", t("pick_colleague")),
    ...view.colleagues.map((c) => option(c.id, c.name)));
  myNominations(view);
  $("nominate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const status = $("nominate-status");
    sending(form, status, "nominate", async () => {
      const nominee = $("nominate-person").value;
      const name = $("nominate-person").selectedOptions[0].textContent;
      const answer = await api(`/api/cohorts/${view.cohort.id}/nominations`, {method: "POST",
        body: {nominee_id: nominee ? Number(nominee) : null, reason: $("nominate-reason").value.trim()}});
      showFieldProblem(form, "nominate", null);
      const known = view.mine.some((n) => n.id === answer.id);
      say(status, t(known ? "nominated_before" : "nominated", {name: name}), "done");
      if (!known) view.mine.unshift({id: answer.id, nominee: name, status: answer.status});
      myNominations(view);
      form.reset();
    });
  });
}

run(async (context) => {
  const old = $("nominate");
  if (old) old.remove();
  // The configured contentUrl carries ?team={groupId}; the Teams context has it too.
  const groupId = new URLSearchParams(window.location.search).get("team") || (context.team && context.team.groupId);
  if (!groupId) throw new TabProblem("no_team");
  channelId = context.channel ? context.channel.id : null;
  let team;
  try {
    team = await api("/api/teams/by-graph-id/" + encodeURIComponent(groupId));
  } catch (error) {
    if (error instanceof TabProblem && error.kind === "forbidden") await offerNomination(groupId);
    throw error;
  }
  teamId = team.id;
  const summary = await api(`/api/teams/${team.id}/summary`);
  if (!summary.cohort) throw new TabProblem("no_cohort");
  render(summary);
  board = await api(`/api/teams/${team.id}/recognitions`);
  renderBoard();
  if (!wired) {
    wired = true;
    wireRecognition();
  }
});
